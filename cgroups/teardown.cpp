#include "cgroups/teardown.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace cgroups {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// `dir` and every cgroup below it (on cgroupfs each directory is a cgroup).
std::vector<fs::path> subtree(const fs::path& dir) {
    std::vector<fs::path> dirs{dir};
    std::error_code error;
    for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
        if (it->is_directory(error) && !it->is_symlink(error)) dirs.push_back(it->path());
    return dirs;
}

std::set<pid_t> pids_in(const std::vector<fs::path>& cgroups) {
    std::set<pid_t> pids;
    for (const auto& cg : cgroups)
        if (const auto text = try_read_text(cg / "cgroup.procs"))
            for (pid_t pid : parse_pids(*text)) pids.insert(pid);
    return pids;
}

std::string list(const std::set<pid_t>& pids) {
    std::string text;
    for (pid_t pid : pids) text += (text.empty() ? "" : " ") + std::to_string(pid);
    return text;
}

}  // namespace

TeardownReport kill_all(Backend& backend, const fs::path& dir, const TeardownLimits& limits) {
    TeardownReport report;
    if (!path_exists(dir)) return report;
    const auto cgroups = subtree(dir);
    std::set<pid_t> seen = pids_in(cgroups);
    if (seen.empty()) return report;
    // cgroup.kill kills the whole subtree at once, forks included (v2, 5.14+);
    // libcgroup has no kill, so this and the SIGKILL loop are direct.
    if (path_exists(dir / "cgroup.kill")) {
        backend.write(dir / "cgroup.kill", "1");
        report.used_cgroup_kill = true;
    }
    const auto deadline = std::chrono::steady_clock::now() + limits.empty_wait;
    auto pause = 1ms;
    for (;;) {
        const auto pids = pids_in(cgroups);
        seen.insert(pids.begin(), pids.end());
        if (pids.empty()) break;
        if (std::chrono::steady_clock::now() >= deadline)
            throw std::runtime_error("kill processes in " + dir.string() + ": still there after " +
                                     std::to_string(limits.empty_wait.count()) + " ms: " + list(pids));
        if (!report.used_cgroup_kill)
            for (pid_t pid : pids) backend.signal(pid, SIGKILL);
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, 50ms);
    }
    report.killed = seen.size();
    return report;
}

TeardownReport remove_tree(Backend& backend, const fs::path& dir, const TeardownLimits& limits) {
    auto cgroups = subtree(dir);
    // Deepest first: a cgroup with children cannot go.
    std::sort(cgroups.begin(), cgroups.end(), [](const fs::path& a, const fs::path& b) {
        return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
    });
    TeardownReport report;
    for (const auto& cg : cgroups) {
        for (report.remove_attempts = 1;; ++report.remove_attempts) {
            try {
                backend.remove(cg);
                break;
            } catch (const std::system_error& e) {
                if (e.code() == std::errc::no_such_file_or_directory) break;
                // EBUSY: the last process is leaving, or one joined after the kill.
                if (e.code() != std::errc::device_or_resource_busy ||
                    report.remove_attempts >= limits.remove_attempts)
                    throw;
                const auto late = kill_all(backend, cg, limits);
                report.killed += late.killed;
                report.used_cgroup_kill |= late.used_cgroup_kill;
                std::this_thread::sleep_for(std::chrono::milliseconds(2 * report.remove_attempts));
            }
        }
    }
    return report;
}

TeardownReport tear_down(Backend& backend, const fs::path& dir, const TeardownLimits& limits) {
    auto report = kill_all(backend, dir, limits);
    const auto removal = remove_tree(backend, dir, limits);
    report.killed += removal.killed;
    report.used_cgroup_kill |= removal.used_cgroup_kill;
    report.remove_attempts = removal.remove_attempts;
    return report;
}

std::string clean_stale(Backend& backend, const fs::path& dir, const TeardownLimits& limits) {
    auto report = kill_all(backend, dir, limits);
    std::vector<fs::path> children;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
        if (it->is_directory(error) && !it->is_symlink(error)) children.push_back(it->path());
    if (error) throw std::system_error(error, "list " + dir.string());
    for (const auto& child : children) report.killed += remove_tree(backend, child, limits).killed;
    const std::size_t removed = children.size();
    return "reusing the stale cgroup " + dir.string() + " left by a launcher that is gone (its lock was free; " +
           std::to_string(report.killed) + (report.killed == 1 ? " process" : " processes") + " killed, " +
           std::to_string(removed) + (removed == 1 ? " child cgroup" : " child cgroups") + " removed)";
}

}  // namespace cgroups
