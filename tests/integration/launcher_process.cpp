#include "launcher_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

namespace itest {

LauncherProcess::LauncherProcess(std::vector<std::string> argv) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    out_thread_ = std::thread([this] { read_loop(out_fd_, true); });
    err_thread_ = std::thread([this] { read_loop(err_fd_, false); });
}

LauncherProcess::~LauncherProcess() {
    if (!wait_exit(std::chrono::seconds(0))) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(30));
    }
    if (out_thread_.joinable()) out_thread_.join();
    if (err_thread_.joinable()) err_thread_.join();
    close(out_fd_);
    close(err_fd_);
}

void LauncherProcess::read_loop(int fd, bool is_stdout) {
    std::string partial;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        (is_stdout ? out_ : err_).append(buf, static_cast<std::size_t>(n));
        if (!is_stdout) continue;
        partial.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = partial.find('\n')) != std::string::npos) {
            auto j = nlohmann::json::parse(partial.substr(0, nl), nullptr, false);
            if (!j.is_discarded()) events_.push_back(j);
            partial.erase(0, nl + 1);
        }
        cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    cv_.notify_all();
}

void LauncherProcess::signal(int signo) { ::kill(pid_, signo); }

std::optional<nlohmann::json> LauncherProcess::wait_event(const std::string& event, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    std::size_t seen = 0;
    for (;;) {
        for (; seen < events_.size(); ++seen) {
            if (events_[seen].value("event", "") == event) return events_[seen];
        }
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
}

std::optional<int> LauncherProcess::wait_exit(std::chrono::seconds timeout) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (out_thread_.joinable()) out_thread_.join();
            if (err_thread_.joinable()) err_thread_.join();
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        usleep(20000);
    }
}

std::vector<nlohmann::json> LauncherProcess::events() const {
    std::lock_guard lock(mu_);
    return events_;
}

std::string LauncherProcess::output() const {
    std::lock_guard lock(mu_);
    return out_;
}

std::string LauncherProcess::errors() const {
    std::lock_guard lock(mu_);
    return err_;
}

std::string launcher_path() {
    const char* p = std::getenv("VMI_LAUNCHER");
    if (!p) throw std::runtime_error("VMI_LAUNCHER is not set (run through meson test)");
    return p;
}

std::string source_root() {
    const char* p = std::getenv("SOURCE_ROOT");
    return p ? p : ".";
}

namespace {

std::string build_guest_image() {
    const std::string image = source_root() + "/.cache/guest/image";
    const bool built = exists(image + "/boot/vmlinuz") && exists(image + "/boot/initrd.img");
    // Always asked: it rebuilds only when tests/guest/init or the module list
    // changed (about 0.05 s otherwise), so a test never boots a stale guest.
    const std::string cmd = source_root() + "/tests/guest/build-guest.sh >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        if (!built) throw std::runtime_error("tests/guest/build-guest.sh failed");
        std::fprintf(stderr, "note: tests/guest/build-guest.sh failed; using the guest already built in %s\n",
                     image.c_str());
    }
    return image;
}

}  // namespace

std::string guest_image() {
    // Once per test program.
    static const std::string image = build_guest_image();
    return image;
}

bool is_root() { return geteuid() == 0; }

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool process_alive(pid_t pid) {
    // A zombie counts as gone: it runs nothing.
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return false;
    const auto close_paren = stat.rfind(')');
    return close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] != 'Z';
}

std::string test_vmi_yaml(const std::string& name, const std::string& guest, const std::string& request,
                          const std::string& kernel_args, const std::string& extra) {
    return "apiVersion: kubevirt.io/v1\n"
           "kind: VirtualMachineInstance\n"
           "metadata:\n"
           "  name: " + name + "\n"
           "  namespace: itest\n"
           "spec:\n"
           "  terminationGracePeriodSeconds: 30\n"
           "  domain:\n"
           "    memory:\n"
           "      guest: " + guest + "\n"
           "    resources:\n"
           "      requests:\n"
           "        memory: " + request + "\n"
           "    firmware:\n"
           "      kernelBoot:\n"
           "        kernelArgs: console=ttyS0 quiet panic=-1 " + kernel_args + "\n"
           "        container:\n"
           "          image: vmi-launcher/test-guest\n"
           "          kernelPath: /boot/vmlinuz\n"
           "          initrdPath: /boot/initrd.img\n"
           "    devices:\n"
           "      autoattachGraphicsDevice: false\n" + extra;
}

nlohmann::json wait_stopped(LauncherProcess& launcher, std::chrono::seconds timeout, int status) {
    const auto code = launcher.wait_exit(timeout);
    REQUIRE(code);
    REQUIRE(*code == status);
    auto stopped = launcher.wait_event("vm_stopped", std::chrono::seconds(1));
    REQUIRE(stopped);
    return *stopped;
}

bool wait_for_text(const std::string& path, const std::string& text, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_file(path).find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        usleep(100000);
    }
    return true;
}

long mem_total_kb(const std::string& console) {
    std::smatch m;
    static const std::regex re("VMIL: meminfo begin\\r?\\nMemTotal:\\s+(\\d+) kB");
    if (std::regex_search(console, m, re)) return std::stol(m[1]);
    return 0;
}

std::vector<std::string> guest_run_argv(const std::string& vmi_file, const std::string& console,
                                        const std::string& cgroup_parent) {
    return {launcher_path(), "run", vmi_file, "--image", "vmi-launcher/test-guest=" + guest_image(),
            "--accel", "tcg", "--log-format", "json", "--cgroup-parent", cgroup_parent, "--console-log", console};
}

ScratchDir::ScratchDir(const std::string& prefix) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

}  // namespace itest
