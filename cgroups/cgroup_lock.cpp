#include "cgroups/cgroup_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <system_error>

namespace cgroups {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& dir) {
    throw std::system_error(errno, std::generic_category(), what + " " + dir.string());
}

// Whether `dir` still names the directory open as `fd`: a cgroup removed
// and made anew by someone else has another inode.
bool still_named(int fd, const std::filesystem::path& dir) {
    struct stat open_st {}, path_st {};
    if (::fstat(fd, &open_st) != 0) fail("fstat", dir);
    if (::lstat(dir.c_str(), &path_st) != 0) {
        if (errno == ENOENT) return false;
        fail("stat", dir);
    }
    return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

}  // namespace

CgroupLock try_lock_cgroup(const std::filesystem::path& dir) {
    CgroupLock lock;
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return lock;  // vanished
        fail("open", dir);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) fail("flock", dir);
        // Held: by a live owner, unless that owner has just removed it.
        lock.result = still_named(fd.get(), dir) ? LockResult::busy : LockResult::vanished;
        return lock;
    }
    if (!still_named(fd.get(), dir)) return lock;  // removed between open and flock
    lock.result = LockResult::locked;
    lock.fd = std::move(fd);
    return lock;
}

}  // namespace cgroups
