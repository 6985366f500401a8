#include "cgroups/placement.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace cgroups {

const char* join_file(Version version) noexcept { return version == Version::v1 ? "tasks" : "cgroup.procs"; }

// Direct: libcgroup's attach allocates and writes `tasks` (one thread), which
// a child between fork and exec must not do.
int join_cgroup(int join_fd) noexcept {
    if (join_fd < 0) return 0;
    for (;;) {
        if (::pwrite(join_fd, "0", 1, 0) == 1) return 0;
        if (errno != EINTR) return errno;
    }
}

namespace {

// No snprintf or strerror here: only async-signal-safe calls.
void write_error(int error) noexcept {
    char text[96] = "vmi-launcher: cannot join the VM cgroup before exec: errno ";
    std::size_t length = sizeof "vmi-launcher: cannot join the VM cgroup before exec: errno " - 1;
    char digits[12];
    std::size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + error % 10);
        error /= 10;
    } while (error > 0 && n < sizeof digits);
    while (n > 0) text[length++] = digits[--n];
    text[length++] = '\n';
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, text, length);
}

}  // namespace

void join_cgroup_or_exit(int join_fd) noexcept {
    if (const int error = join_cgroup(join_fd); error != 0) {
        write_error(error);
        ::_exit(join_failed_status);
    }
}

// Direct: libcgroup has no CLONE_INTO_CGROUP; glibc 2.36 has no clone3 wrapper.
pid_t fork_into_cgroup(int cgroup_fd, const std::string& path) {
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "clone3 CLONE_INTO_CGROUP " + path);
    return static_cast<pid_t>(pid);
}

}  // namespace cgroups
