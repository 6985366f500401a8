// A launcher started in the background by a test: its log lines as they
// come, signals, and its exit status, every wait bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace itest {

class LauncherProcess {
public:
    // Starts argv (argv[0] a path) with stdout and stderr captured.
    explicit LauncherProcess(std::vector<std::string> argv);
    ~LauncherProcess();  // kills and reaps it if still running

    pid_t pid() const { return pid_; }
    void signal(int signo);

    // Waits for a JSON log line whose "event" is `event`; nullopt on timeout or exit.
    std::optional<nlohmann::json> wait_event(const std::string& event, std::chrono::seconds timeout);
    // Waits for the exit status (128 + signal when killed); nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::seconds timeout);

    std::vector<nlohmann::json> events() const;
    std::string output() const;  // everything printed so far
    std::string errors() const;  // standard error

private:
    void read_loop(int fd, bool is_stdout);

    pid_t pid_ = -1;
    std::thread out_thread_, err_thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string out_, err_;
    std::vector<nlohmann::json> events_;
    std::optional<int> status_;
    int out_fd_ = -1, err_fd_ = -1;
};

// Paths and helpers shared by the integration tests.
std::string launcher_path();
std::string source_root();
// The test guest's image directory (built by tests/guest/build-guest.sh).
std::string guest_image();
bool is_root();
std::string read_file(const std::string& path);
bool exists(const std::string& path);
bool process_alive(pid_t pid);
// A VMI booting the test guest through kernelBoot, in namespace itest.
// `extra` is YAML appended at the end (more devices, volumes).
std::string test_vmi_yaml(const std::string& name, const std::string& guest, const std::string& request,
                          const std::string& kernel_args, const std::string& extra = "");
// Waits for the launcher to exit with `status` and returns its vm_stopped
// event (both REQUIREd: a test ends there when either is not so).
nlohmann::json wait_stopped(LauncherProcess& launcher, std::chrono::seconds timeout, int status);
// `vmi-launcher run FILE` of the test guest under TCG with a JSON log, its
// console in `console` and the VM cgroup below vmi-launcher-itest (or
// `cgroup_parent`); the caller appends what its test needs.
std::vector<std::string> guest_run_argv(const std::string& vmi_file, const std::string& console,
                                        const std::string& cgroup_parent = "vmi-launcher-itest");

// A fresh directory under the temporary directory for one test, removed
// with everything in it when the test ends.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& prefix);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::filesystem::path path(const std::string& name) const { return dir_ / name; }

private:
    std::filesystem::path dir_;
};

// Waits until the file holds `text`; false on timeout.
bool wait_for_text(const std::string& path, const std::string& text, std::chrono::seconds timeout);
// MemTotal in kB from a console log, or 0.
long mem_total_kb(const std::string& console);

}  // namespace itest
