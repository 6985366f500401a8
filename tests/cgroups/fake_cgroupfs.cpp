#include "fake_cgroupfs.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace cgroups_test {

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cgroups-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

namespace {

void put(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("fake cgroupfs: cannot write " + file.string());
}

std::string get(const fs::path& file) { return cgroups::read_text(file); }

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
    return text;
}

}  // namespace

FakeCgroupfs::FakeCgroupfs(FakeOptions options) : options_(std::move(options)) {
    fs::create_directories(root());
    const bool true_root = !options_.namespace_root && options_.mount_root == "/";
    if (options_.layout == FakeLayout::v2) {
        populate(root(), true_root);
    } else {
        if (options_.memory) {
            fs::create_directories(memory_root());
            populate(memory_root(), true_root);
        }
        fs::create_directories(root() / "cpu,cpuacct");
        put(root() / "cpu,cpuacct/cgroup.procs", "");
        if (options_.layout == FakeLayout::hybrid) {
            fs::create_directories(root() / "unified");
            for (auto name : {"cgroup.controllers", "cgroup.subtree_control", "cgroup.procs"})
                put(root() / "unified" / name, "");
        }
    }
    if (!options_.memory && options_.layout != FakeLayout::v2) return;

    // The launcher's own cgroup, made the way a host or container runtime would.
    fs::path at = memory_root();
    const auto own_rel = fs::path(options_.own_cgroup).lexically_relative(options_.mount_root);
    for (const auto& part : own_rel) {
        if (part == ".") continue;
        if (options_.layout == FakeLayout::v2 && options_.own_has_memory && options_.memory)
            put(at / "cgroup.subtree_control", "memory");
        at /= part;
        fs::create_directories(at);
        populate(at, false);
    }
    std::string pids;
    for (pid_t pid : options_.own_pids) pids += std::to_string(pid) + "\n";
    put(own_dir() / "cgroup.procs", pids);
}

fs::path FakeCgroupfs::memory_root() const {
    return options_.layout == FakeLayout::v2 ? root() : root() / "memory";
}

fs::path FakeCgroupfs::own_dir() const {
    const auto rel = fs::path(options_.own_cgroup).lexically_relative(options_.mount_root);
    return rel == "." ? memory_root() : memory_root() / rel;
}

bool FakeCgroupfs::is_v2(const fs::path& dir) const {
    return options_.layout == FakeLayout::v2 || rel(dir).rfind("unified", 0) == 0;
}

void FakeCgroupfs::populate(const fs::path& dir, bool hierarchy_root) {
    put(dir / "cgroup.procs", "");
    if (!is_v2(dir)) {
        for (auto [name, value] : std::initializer_list<std::pair<const char*, const char*>>{
                 {"tasks", ""},
                 {"cgroup.event_control", ""},
                 {"notify_on_release", "0"},
                 {"memory.limit_in_bytes", "9223372036854771712"},
                 {"memory.usage_in_bytes", "0"},
                 {"memory.max_usage_in_bytes", "0"},
                 {"memory.failcnt", "0"},
                 {"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
                 {"memory.stat", "cache 0\nrss 0\nmapped_file 0\n"}})
            put(dir / name, value);
        if (options_.memsw) put(dir / "memory.memsw.limit_in_bytes", "9223372036854771712");
        if (hierarchy_root) {
            put(dir / "release_agent", "");
            put(dir / "cgroup.sane_behavior", "0");
        }
        return;
    }
    std::string controllers;
    if (dir == root() && options_.layout == FakeLayout::v2) {
        controllers = options_.memory ? "cpuset cpu io memory pids" : "cpuset cpu io pids";
    } else {
        controllers = get(dir.parent_path() / "cgroup.subtree_control");
    }
    put(dir / "cgroup.controllers", controllers);
    put(dir / "cgroup.subtree_control", "");
    if (hierarchy_root) return;  // the true root has no cgroup.events and no memory.max
    put(dir / "cgroup.events", "populated 0\nfrozen 0\n");
    put(dir / "cgroup.type", "domain");
    if (options_.cgroup_kill) put(dir / "cgroup.kill", "");
    const auto names = cgroups::parse_controllers(controllers);
    if (std::find(names.begin(), names.end(), "memory") == names.end()) return;
    for (auto [name, value] : std::initializer_list<std::pair<const char*, const char*>>{
             {"memory.max", "max"},
             {"memory.high", "max"},
             {"memory.low", "0"},
             {"memory.swap.max", "max"},
             {"memory.oom.group", "0"},
             {"memory.current", "0"},
             {"memory.peak", "0"},
             {"memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"},
             {"memory.stat", "anon 0\nfile 0\nkernel 0\n"}})
        put(dir / name, value);
}

std::string FakeCgroupfs::mountinfo() const {
    std::ostringstream text;
    const auto ro = options_.read_only ? "ro" : "rw";
    text << "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n";
    if (options_.layout == FakeLayout::v2) {
        text << "30 22 0:26 " << options_.mount_root << " " << root().string() << " " << ro
             << ",nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 " << ro << ",nsdelegate\n";
        return text.str();
    }
    text << "30 22 0:25 / " << root().string() << " " << ro << ",nosuid,nodev,noexec shared:3 - tmpfs tmpfs "
         << ro << ",mode=755\n";
    if (options_.layout == FakeLayout::hybrid)
        text << "31 30 0:26 / " << (root() / "unified").string()
             << " rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    if (options_.memory)
        text << "32 30 0:27 " << options_.mount_root << " " << memory_root().string() << " " << ro
             << ",nosuid,nodev,noexec,relatime shared:5 - cgroup cgroup " << ro << ",memory\n";
    text << "33 30 0:28 / " << (root() / "cpu,cpuacct").string()
         << " rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,cpu,cpuacct\n";
    return text.str();
}

std::string FakeCgroupfs::proc_self_cgroup() const {
    if (options_.layout == FakeLayout::v2) return "0::" + options_.own_cgroup + "\n";
    std::string text;
    if (options_.memory) text += "4:memory:" + options_.own_cgroup + "\n";
    text += "2:cpu,cpuacct:/\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n";
    return text;
}

cgroups::DetectInputs FakeCgroupfs::inputs() const {
    return cgroups::DetectInputs{.cgroup_root = root(), .proc_self_cgroup = proc_self_cgroup(), .mountinfo = mountinfo()};
}

std::map<std::string, std::string> FakeCgroupfs::snapshot() const {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(root()))
        files[rel(entry.path())] = entry.is_directory() ? "<dir>" : get(entry.path());
    return files;
}

std::string FakeCgroupfs::rel(const fs::path& path) const { return path.lexically_relative(root()).string(); }

void FakeCgroupfs::check_writable(const std::string& operation, const fs::path& path) const {
    if (options_.read_only) throw std::system_error(EROFS, std::generic_category(), operation + " " + path.string());
    const auto failing = failing_.find(path.filename().string());
    if (failing != failing_.end())
        throw std::system_error(failing->second, std::generic_category(), operation + " " + path.string());
}

void FakeCgroupfs::add_process(const fs::path& cgroup, pid_t pid) {
    put(cgroup / "cgroup.procs", get(cgroup / "cgroup.procs") + std::to_string(pid) + "\n");
}

bool FakeCgroupfs::drop_pid(pid_t pid) {
    bool found = false;
    for (const auto& entry : fs::recursive_directory_iterator(root())) {
        if (entry.path().filename() != "cgroup.procs") continue;
        auto pids = cgroups::parse_pids(get(entry.path()));
        const auto it = std::find(pids.begin(), pids.end(), pid);
        if (it == pids.end()) continue;
        pids.erase(it);
        std::string text;
        for (pid_t p : pids) text += std::to_string(p) + "\n";
        put(entry.path(), text);
        found = true;
    }
    return found;
}

void FakeCgroupfs::move_pid(pid_t pid, const fs::path& to) {
    drop_pid(pid);
    add_process(to, pid);
}

void FakeCgroupfs::create(const fs::path& dir) {
    check_writable("mkdir", dir);
    DirectBackend::create(dir);
    populate(dir, false);
    log_.push_back("mkdir " + rel(dir));
}

void FakeCgroupfs::set(const fs::path& dir, std::string_view file, std::string_view value) {
    check_writable("write", dir / file);
    log_.push_back("set " + rel(dir / file) + " " + std::string(value));
    if (file != "cgroup.subtree_control") return DirectBackend::set(dir, file, value);
    auto names = cgroups::parse_controllers(get(dir / file));
    for (const auto& change : cgroups::parse_controllers(value)) {
        const auto name = change.substr(1);
        names.erase(std::remove(names.begin(), names.end(), name), names.end());
        if (change.front() == '+') names.push_back(name);
    }
    put(dir / file, join(names));
}

void FakeCgroupfs::remove(const fs::path& dir) {
    check_writable("rmdir", dir);
    log_.push_back("rmdir " + rel(dir));
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_directory()) throw std::system_error(EBUSY, std::generic_category(), "rmdir " + dir.string());
    if (!cgroups::parse_pids(get(dir / "cgroup.procs")).empty())
        throw std::system_error(EBUSY, std::generic_category(), "rmdir " + dir.string());
    fs::remove_all(dir);
}

void FakeCgroupfs::write(const fs::path& file, std::string_view value) {
    check_writable("write", file);
    log_.push_back("write " + rel(file) + " " + std::string(value));
    const auto name = file.filename();
    if (name == "cgroup.procs") return move_pid(static_cast<pid_t>(std::stol(std::string(value))), file.parent_path());
    if (name == "cgroup.kill") {
        for (const auto& entry : fs::recursive_directory_iterator(file.parent_path()))
            if (entry.path().filename() == "cgroup.procs")
                for (pid_t pid : cgroups::parse_pids(get(entry.path())))
                    if (!unkillable_.contains(pid)) drop_pid(pid);
        return;
    }
    DirectBackend::write(file, value);
}

bool FakeCgroupfs::signal(pid_t pid, int signal_number) {
    log_.push_back("kill " + std::to_string(pid));
    if (signal_number != SIGKILL || unkillable_.contains(pid)) return true;
    return drop_pid(pid);
}

}  // namespace cgroups_test
