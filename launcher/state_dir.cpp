#include "launcher/state_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

namespace launcher {
namespace fs = std::filesystem;

namespace {

constexpr int acquire_attempts = 20;     // rounds while a parent or the directory vanishes meanwhile
constexpr std::size_t record_max = 4096;  // bytes of a lock file read back
constexpr int max_depth = 32;            // of a stale directory's tree

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

std::string now_utc() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

struct stat fstat_or_throw(int fd, const fs::path& what) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("fstat " + what.string());
    return st;
}

// Whether `path` (not followed) is the file open as `fd`.
bool still_named(int fd, const fs::path& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && same_file(st, fstat_or_throw(fd, path));
}

std::string read_record(int fd) {
    std::string text(record_max, '\0');
    const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}

void write_record(int fd, const fs::path& file, const std::string& vm) {
    const std::string text = ownership_record(vm, ::getpid(), VMI_LAUNCHER_VERSION, now_utc());
    if (::ftruncate(fd, 0) != 0) throw_errno("truncate " + file.string());
    if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        throw_errno("write " + file.string());
}

// Removes everything in the directory open as `dir_fd` except the entry
// `keep`, never following a symbolic link and never crossing into another
// file system (a mount inside is not ours to empty). Throws on the first
// failure, naming the path.
void remove_contents(int dir_fd, const fs::path& where, const char* keep, int depth = 0) {
    if (depth > max_depth) throw std::runtime_error("remove " + where.string() + ": nested too deeply");
    const int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (list_fd < 0) throw_errno("open " + where.string());
    DIR* listing = ::fdopendir(list_fd);
    if (!listing) {
        ::close(list_fd);
        throw_errno("list " + where.string());
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(listing)) {
        const std::string name = e->d_name;
        if (name != "." && name != ".." && (!keep || name != keep)) names.push_back(name);
    }
    ::closedir(listing);
    const dev_t device = fstat_or_throw(dir_fd, where).st_dev;
    for (const auto& name : names) {
        const fs::path path = where / name;
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            throw_errno("stat " + path.string());
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != device) throw std::runtime_error("remove " + path.string() + ": a mount point");
            Fd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw_errno("open " + path.string());
            remove_contents(sub.get(), path, nullptr, depth + 1);
            if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
                throw_errno("rmdir " + path.string());
        } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
            throw_errno("remove " + path.string());
        }
    }
}

// Makes the missing directories down to `dir` (0755), appending each one made
// to `made`. false when a level vanished meanwhile (a launcher removing a
// parent it had made): the caller starts over.
bool make_parents(const fs::path& dir, std::vector<fs::path>& made) {
    std::vector<fs::path> missing;
    struct stat st {};
    for (fs::path p = dir; !p.empty() && ::lstat(p.c_str(), &st) != 0; p = p.parent_path()) {
        if (errno != ENOENT) throw_errno("stat " + p.string());
        missing.push_back(p);
        if (p == p.root_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0755) == 0) {
            made.push_back(*it);
        } else if (errno == ENOENT) {
            return false;
        } else if (errno != EEXIST) {
            throw_errno("mkdir " + it->string());
        }
    }
    return true;
}

// Removes the parents made here, innermost first, while they are empty.
void remove_made_parents(const std::vector<fs::path>& made) {
    for (auto it = made.rbegin(); it != made.rend(); ++it)
        if (::rmdir(it->c_str()) != 0) return;  // not empty (another VM's), or gone
}

[[noreturn]] void refuse(const fs::path& path, const std::string& why, const std::string& advice) {
    throw StateDirRefused(fmt::format("state directory {} {}; it was left untouched ({})", path.string(), why, advice));
}

enum class Taken { ok, exists, vanished };

}  // namespace

std::string ownership_record(const std::string& vm, pid_t pid, std::string_view version, std::string_view started) {
    return fmt::format("{}\nvmi: {}\npid: {}\nversion: {}\nstarted: {}\n", state_record_magic, vm, pid, version, started);
}

std::optional<OwnershipRecord> parse_ownership_record(std::string_view text) {
    if (text.size() > record_max) return std::nullopt;
    const auto first_end = text.find('\n');
    if (text.substr(0, first_end) != state_record_magic || first_end == std::string_view::npos) return std::nullopt;
    OwnershipRecord record{"", "unknown"};
    std::size_t at = first_end + 1;
    while (at < text.size()) {
        const auto end = std::min(text.find('\n', at), text.size());
        const auto line = text.substr(at, end - at);
        if (line.starts_with("vmi: ")) record.vm = line.substr(5);
        if (line.starts_with("pid: ")) record.pid = line.substr(5);
        at = end + 1;
    }
    if (record.vm.empty()) return std::nullopt;
    return record;
}

std::filesystem::path default_state_dir(const std::string& state_root, const std::string& ns, const std::string& name) {
    return std::filesystem::path(state_root) / ns / name;
}

namespace {

// Makes the directory complete under a private name beside `path` and
// renames it into place without replacing anything.
Taken create_new(const fs::path& path, const std::string& vm, Fd& dir, Fd& lock) {
    std::string tmpl = (path.parent_path() / ("." + path.filename().string() + ".vmil-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) {
        if (errno == ENOENT) return Taken::vanished;
        throw_errno("mkdir " + tmpl);
    }
    const fs::path tmp = tmpl;
    Fd tmp_dir(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!tmp_dir) throw_errno("open " + tmp.string());
    Fd tmp_lock(::openat(tmp_dir.get(), state_lock_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    auto discard = [&] {
        ::unlinkat(tmp_dir.get(), state_lock_name, 0);
        ::rmdir(tmp.c_str());
    };
    try {
        if (!tmp_lock) throw_errno("create " + (tmp / state_lock_name).string());
        if (::flock(tmp_lock.get(), LOCK_EX | LOCK_NB) != 0) throw_errno("lock " + (tmp / state_lock_name).string());
        write_record(tmp_lock.get(), tmp / state_lock_name, vm);
    } catch (...) {
        discard();
        throw;
    }
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
        const int error = errno;
        discard();
        if (error == EEXIST || error == ENOTEMPTY) return Taken::exists;
        if (error == ENOENT) return Taken::vanished;
        if (error == EINVAL)
            throw std::runtime_error(fmt::format("state directory {}: its file system cannot rename without replacing "
                                                 "(renameat2 RENAME_NOREPLACE); give --state-root or --state-dir "
                                                 "on another (tmpfs, ext4, xfs, btrfs)",
                                                 path.string()));
        throw std::system_error(error, std::generic_category(), "rename " + tmp.string() + " to " + path.string());
    }
    dir = std::move(tmp_dir);
    lock = std::move(tmp_lock);
    return Taken::ok;
}

// An existing `path`: ours to reuse only when it carries a record of the
// same VMI and nobody holds its lock.
Taken take_existing(const fs::path& path, const std::string& vm, Fd& dir, Fd& lock,
                    std::optional<std::string>& stale_notice) {
    const fs::path lock_file = path / state_lock_name;
    Fd d(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) {
        if (errno == ENOENT) return Taken::vanished;
        if (errno == ELOOP || errno == ENOTDIR)
            refuse(path, "is not a directory (or is a symbolic link)", "give --state-dir a path of its own");
        throw_errno("open " + path.string());
    }
    const std::string advice_foreign =
        "it is not a vmi-launcher state directory; choose another --state-dir, or remove it yourself if it is "
        "not needed";
    // Only a regular file is opened: opening a device or a FIFO can have effects of its own.
    struct stat lock_st {};
    if (::fstatat(d.get(), state_lock_name, &lock_st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(lock_st.st_mode))
        refuse(path, fmt::format("exists and has no ownership record ({} is no file)", state_lock_name), advice_foreign);
    Fd l(::openat(d.get(), state_lock_name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!l) {
        if (errno == ENOENT || errno == ELOOP || errno == ENXIO)
            refuse(path, fmt::format("exists and has no ownership record ({})", state_lock_name), advice_foreign);
        throw_errno("open " + lock_file.string());
    }
    if (!S_ISREG(fstat_or_throw(l.get(), lock_file).st_mode))
        refuse(path, fmt::format("exists and has no ownership record ({} is no file)", state_lock_name), advice_foreign);

    const bool held = ::flock(l.get(), LOCK_EX | LOCK_NB) != 0;
    if (held && errno != EWOULDBLOCK) throw_errno("lock " + lock_file.string());
    // The path may have been taken away meanwhile (its launcher ending): then start over.
    if (!still_named(d.get(), path) || !still_named(l.get(), lock_file)) return Taken::vanished;

    const auto record = parse_ownership_record(read_record(l.get()));
    if (!record)
        refuse(path, fmt::format("exists and its {} is no ownership record", state_lock_name), advice_foreign);
    if (record->vm != vm) {
        refuse(path,
               fmt::format("belongs to VM {} ({}launcher pid {})", record->vm, held ? "running, " : "",
                           record->pid),
               "give each VM its own --state-dir");
    }
    if (held) {
        refuse(path, fmt::format("is in use: VM {} is already running (launcher pid {})", vm, record->pid),
               "stop that launcher first");
    }
    // Ours, and its launcher is gone: empty it (the lock file stays, locked).
    remove_contents(d.get(), path, state_lock_name);
    write_record(l.get(), lock_file, vm);
    stale_notice = fmt::format(
        "cleaned the stale state directory {} left by launcher pid {} of VM {}, which is gone (its lock was free)",
        path.string(), record->pid, vm);
    dir = std::move(d);
    lock = std::move(l);
    return Taken::ok;
}

}  // namespace

StateDir StateDir::acquire(const fs::path& given, const std::string& vm, std::optional<std::string>& stale_notice) {
    const fs::path path = given.has_filename() ? given : given.parent_path();  // "d/" is "d"
    if (!path.is_absolute() || !path.has_filename())
        throw StateDirRefused("state directory " + given.string() + ": an absolute path below / is needed");
    StateDir sd;
    sd.path_ = path;
    try {
        for (int attempt = 1; attempt <= acquire_attempts; ++attempt) {
            if (!make_parents(path.parent_path(), sd.made_parents_)) continue;
            Taken taken = create_new(path, vm, sd.dir_, sd.lock_);
            if (taken == Taken::exists) taken = take_existing(path, vm, sd.dir_, sd.lock_, stale_notice);
            if (taken == Taken::ok) {
                sd.owned_ = true;
                return sd;
            }
        }
    } catch (...) {
        remove_made_parents(sd.made_parents_);
        throw;
    }
    remove_made_parents(sd.made_parents_);
    throw std::runtime_error(fmt::format("state directory {}: it or its parent kept vanishing ({} attempts)",
                                         path.string(), acquire_attempts));
}

void StateDir::remove() {
    if (!owned_) return;
    owned_ = false;
    // Aside first, in one step: a launcher starting now finds either the
    // whole directory (locked) or none, never one without its record.
    static int removals = 0;
    const fs::path aside = path_.parent_path() /
                           fmt::format(".{}.vmil-gone-{}-{}", path_.filename().string(), ::getpid(), ++removals);
    fs::path at = path_;
    if (still_named(dir_.get(), path_) &&
        ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) == 0)
        at = aside;
    try {
        remove_contents(dir_.get(), at, nullptr);
        if (still_named(dir_.get(), at)) ::rmdir(at.c_str());
    } catch (const std::exception&) {
        // Best effort at the end of a run (a mount someone made inside stays):
        // whatever is left is inside this launcher's own directory.
    }
    lock_.reset();
    dir_.reset();
    remove_made_parents(made_parents_);
}

StateDir::~StateDir() { remove(); }

}  // namespace launcher
