#include "launcher/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <fmt/format.h>

#include "cgroups/boost_process.hpp"

namespace launcher {
namespace bp = boost::process;

namespace {

// Runs in the child between fork and exec: async-signal-safe calls only,
// and _exit on any failure (never exec half set up).
struct ChildSetup : bp::extend::handler {
    const std::vector<std::pair<int, int>>* fds;
    pid_t parent;
    const std::string* oom_score_adj;

    template <typename Executor>
    void on_exec_setup(Executor&) const noexcept {
        // Die with the launcher; if it is already gone, do not start at all.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
        ::setpgid(0, 0);
        // The launcher blocks the signals it reads from a signalfd and
        // ignores SIGPIPE and SIGXFSZ; QEMU starts with neither.
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &dfl, nullptr);
        ::sigaction(SIGXFSZ, &dfl, nullptr);
        // Everything above stderr closes at exec, except what is placed below.
        if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = 3; fd < 1024; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        // QEMU must not inherit a launcher's immunity: a cgroup whose only
        // process cannot be OOM-killed hangs instead.
        if (!oom_score_adj->empty()) {
            const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
            if (fd < 0) ::_exit(126);
            const auto len = static_cast<ssize_t>(oom_score_adj->size());
            if (::write(fd, oom_score_adj->data(), oom_score_adj->size()) != len) ::_exit(126);
            ::close(fd);
        }
        for (const auto& [from, to] : *fds) {
            // dup2 onto itself keeps close-on-exec: clear it by hand.
            const int ok = from == to ? ::fcntl(to, F_SETFD, 0) : ::dup2(from, to);
            if (ok < 0) ::_exit(126);
        }
    }
};

}  // namespace

int move_high(int fd) {
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, move_high_base);
    if (high < 0) {
        const int error = errno;
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        throw std::system_error(error, std::generic_category(),
                                fmt::format("no descriptor free at or above {} for QEMU (RLIMIT_NOFILE is {}; "
                                            "raise ulimit -n): fcntl F_DUPFD_CLOEXEC",
                                            move_high_base, limit.rlim_cur));
    }
    ::close(fd);
    return high;
}

pid_t spawn(const SpawnRequest& request, bp::async_pipe& stderr_pipe) {
    if (request.argv.empty()) throw std::invalid_argument("spawn: empty argv");
    std::vector<std::string> args(request.argv.begin() + 1, request.argv.end());
    std::error_code ec;
    bp::child child(bp::exe = request.argv.front(), bp::args = args, bp::std_in < bp::null, bp::std_out > bp::null,
                    bp::std_err > stderr_pipe, cgroups::JoinCgroupOnExec{request.cgroup_join_fd},
                    ChildSetup{{}, &request.fds, ::getpid(), &request.oom_score_adj}, ec);
    if (ec) throw std::runtime_error("cannot start " + request.argv.front() + ": " + ec.message());
    const pid_t pid = child.id();
    child.detach();  // the supervisor reaps it (and, as PID 1, every other child)
    return pid;
}

}  // namespace launcher
