#include "integration_support.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"
#include "cgroups/placement.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace cgroups_test {

using namespace std::chrono_literals;

const Machine& machine() {
    static const Machine m = [] {
        Machine result;
        result.detection = cgroups::detect(cgroups::system_inputs());
        auto choice = cgroups::make_backend(result.detection);
        result.backend = std::move(choice.backend);
        result.backend_reason = choice.reason;
        result.parent = "vmi-launcher-test-" + std::to_string(::getpid());
        return result;
    }();
    return m;
}

std::string helper() {
    const char* path = std::getenv("CGROUPS_TEST_HELPER");
    if (!path) throw std::runtime_error("CGROUPS_TEST_HELPER is not set");
    return path;
}

cgroups::VmCgroup make_vm(const std::string& name, cgroups::MemoryLimits limits) {
    const auto& m = machine();
    return cgroups::VmCgroup::open(m.detection, cgroups::Mode::host,
                                   {.vm_namespace = "test", .vm_name = name, .parent = m.parent, .limits = limits},
                                   m.backend);
}

pid_t spawn_helper(const cgroups::VmCgroup& vm, const std::vector<std::string>& args, int stdout_fd, Spawn how,
                   int stderr_fd) {
    std::vector<std::string> argv{helper()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);

    const pid_t pid = how == Spawn::clone_into ? cgroups::fork_into_cgroup(vm.cgroup_fd(), vm.path().string())
                                               : ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        if (stdout_fd >= 0) ::dup2(stdout_fd, STDOUT_FILENO);
        if (stderr_fd >= 0) ::dup2(stderr_fd, STDERR_FILENO);
        if (how == Spawn::fork_join) cgroups::join_cgroup_or_exit(vm.join_fd());
        ::execv(c_argv[0], c_argv.data());
        ::_exit(127);
    }
    return pid;
}

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(2ms);
    }
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    return r == 1 && (p.revents & POLLIN);
}

std::string read_line(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    char c = 0;
    while (wait_readable(fd, timeout) && ::read(fd, &c, 1) == 1 && c != '\n') line += c;
    return line;
}

std::optional<std::filesystem::path> memory_cgroup_of(pid_t pid, const cgroups::Detection& d) {
    const auto text = cgroups::try_read_text("/proc/" + std::to_string(pid) + "/cgroup");
    if (!text) return std::nullopt;
    for (const auto& entry : cgroups::parse_proc_self_cgroup(*text)) {
        const bool memory = d.version == cgroups::Version::v1
                                ? std::find(entry.controllers.begin(), entry.controllers.end(), "memory") !=
                                      entry.controllers.end()
                                : entry.hierarchy_id == 0;
        if (!memory) continue;
        const auto rel = std::filesystem::path(entry.path).lexically_relative(d.mount_root);
        return rel == "." ? d.memory_root : d.memory_root / rel;
    }
    return std::nullopt;
}

Pipe::Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    read = fds[0];
    write = fds[1];
}

Pipe::~Pipe() {
    if (read >= 0) ::close(read);
    close_write();
}

void Pipe::close_write() {
    if (write >= 0) ::close(write);
    write = -1;
}

}  // namespace cgroups_test
