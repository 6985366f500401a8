// nested and adopt modes for real: a child process plays a container. It
// joins a cgroup made for it, takes a new cgroup namespace and mount
// namespace, mounts the memory hierarchy afresh (read-write: a delegated
// container; read-only: a pod), and runs the launcher's side there. It
// reports "key value" lines through a pipe; the test checks them.
#include "cgroups/events.hpp"
#include "cgroups/file_io.hpp"
#include "cgroups/mode.hpp"
#include "cgroups/placement.hpp"

#include "integration_support.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <iostream>
#include <map>
#include <sstream>

using namespace cgroups;
using namespace cgroups_test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t mib = 1 << 20;

using Report = std::map<std::string, std::string>;

// In the container: a fresh mount of the memory hierarchy shows the
// namespace root (the container's cgroup) as its root. It goes on a new tmpfs
// at /sys/fs/cgroup, as container runtimes do: the kernel refuses to stack a
// cgroup filesystem on a mount of itself (EBUSY).
void enter_container(const Detection& host, bool read_only) {
    const auto fail = [](const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); };
    if (::unshare(CLONE_NEWCGROUP | CLONE_NEWNS) != 0) fail("unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("mount --make-rprivate /");
    const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (read_only ? MS_RDONLY : 0);
    if (::mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") != 0)
        fail("mount tmpfs /sys/fs/cgroup");
    if (host.version == Version::v2) {
        if (::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", flags, nullptr) != 0) fail("mount cgroup2");
    } else {
        if (::mkdir("/sys/fs/cgroup/memory", 0755) != 0) fail("mkdir /sys/fs/cgroup/memory");
        if (::mount("cgroup", "/sys/fs/cgroup/memory", "cgroup", flags, "memory") != 0) fail("mount cgroup memory");
    }
}

// Runs `body` as the container's first process inside `container`; returns its report.
template <typename Body>
Report run_in_container(const VmCgroup& container, bool read_only, Body&& body) {
    Pipe pipe;
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork");
    if (child == 0) {
        std::ostringstream out;
        try {
            join_cgroup_or_exit(container.join_fd());
            enter_container(machine().detection, read_only);
            body(out);
        } catch (const std::exception& e) {
            out << "error " << e.what() << "\n";
        }
        const auto text = out.str();
        [[maybe_unused]] auto n = ::write(pipe.write, text.data(), text.size());
        ::_exit(0);
    }
    pipe.close_write();
    Report report;
    for (std::string line; !(line = read_line(pipe.read, 60s)).empty();) {
        const auto space = line.find(' ');
        report[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    wait_for(child, 60s);
    for (const auto& [key, value] : report) std::cout << "  container: " << key << " " << value << "\n";
    return report;
}

// Spawns a hog into `vm` and reports what the watcher saw.
void hog_and_watch(const VmCgroup& vm, std::ostream& out) {
    auto watcher = OomWatcher::open(vm.version(), vm.path(), *machine().backend);
    out << "watch " << watcher.method() << "\n";
    const pid_t hog = spawn_helper(vm, {"hog", "256"});
    wait_readable(watcher.fd(), 30s);
    auto kills = watcher.check().kill_events();
    const auto status = wait_for(hog, 30s);
    kills += watcher.check().kill_events();
    out << "hog_killed " << (status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL ? "yes" : "no") << "\n";
    out << "kill_events " << kills << "\n";
}

}  // namespace

TEST_CASE("nested mode in a container with a delegated, writable cgroup", "[integration][container]") {
    auto container = make_vm("container", {.max_bytes = 256 * mib});
    const auto report = run_in_container(container, false, [](std::ostream& out) {
        const auto d = detect(system_inputs());
        const auto choice = choose_mode(d, Mode::automatic);
        out << "confined " << (d.confined ? "yes" : "no") << "\n";
        out << "mode " << to_string(choice.mode) << "\n";
        out << "reason " << choice.reason << "\n";
        auto backend = make_backend(d).backend;
        auto vm = VmCgroup::open(d, choice.mode,
                                 {.vm_namespace = "ns", .vm_name = "vm", .limits = {.max_bytes = 64 * mib}}, backend);
        out << "vm " << vm.path().lexically_relative(d.memory_root).string() << "\n";
        out << "notice " << (vm.notices().empty() ? "" : vm.notices()[0]) << "\n";
        hog_and_watch(vm, out);
        // The launcher itself now lives in the leaf.
        out << "self_in_leaf " << (memory_cgroup_of(::getpid(), d) == d.memory_root / launcher_leaf ? "yes" : "no") << "\n";
        vm.close();
        out << "vm_removed " << (path_exists(vm.path()) ? "no" : "yes") << "\n";
    });
    CHECK(report.count("error") == 0);
    CHECK(report.at("confined") == "yes");
    CHECK(report.at("mode") == "nested");
    CHECK(report.at("vm") == "ns/vm");
    CHECK_THAT(report.at("notice"), Catch::Contains("into the leaf"));
    CHECK(report.at("hog_killed") == "yes");
    CHECK(report.at("kill_events") == "1");
    CHECK(report.at("self_in_leaf") == "yes");
    CHECK(report.at("vm_removed") == "yes");
    // Seen from the host: the leaf is inside the container's cgroup; closing removes both.
    CHECK(path_exists(container.path() / launcher_leaf));
    const auto path = container.path();
    container.close();
    CHECK_FALSE(path_exists(path));
}

TEST_CASE("adopt mode in a pod with a read-only cgroupfs: nothing written, limit compared, OOM seen", "[integration][container]") {
    auto container = make_vm("pod", {.max_bytes = 128 * mib});
    // Let the OOM killer pick the hog, not the whole pod (the reporter lives there too).
    if (container.version() == Version::v2) write_text(container.path() / "memory.oom.group", "0");
    const auto report = run_in_container(container, true, [](std::ostream& out) {
        const auto d = detect(system_inputs());
        const auto choice = choose_mode(d, Mode::automatic);
        out << "read_only " << (d.read_only ? "yes" : "no") << "\n";
        out << "mode " << to_string(choice.mode) << "\n";
        auto vm = VmCgroup::open(d, choice.mode,
                                 {.vm_namespace = "ns", .vm_name = "vm", .limits = {.max_bytes = 96 * mib}},
                                 make_backend(d).backend);
        out << "join_fd " << vm.join_fd() << "\n";
        out << "warning " << vm.limit_warning().value_or("") << "\n";
        hog_and_watch(vm, out);
        out << "close_killed " << vm.close().killed << "\n";
    });
    CHECK(report.count("error") == 0);
    CHECK(report.at("read_only") == "yes");
    CHECK(report.at("mode") == "adopt");
    CHECK(report.at("join_fd") == "-1");
    CHECK_THAT(report.at("warning"), Catch::Contains("has a memory limit of 134217728 bytes") &&
                                         Catch::Contains("the plan asks for 100663296 bytes"));
    CHECK(report.at("hog_killed") == "yes");
    CHECK(report.at("kill_events") == "1");
    CHECK(report.at("close_killed") == "0");
    // Nothing was made inside the pod's cgroup.
    std::size_t subdirs = 0;
    for (const auto& entry : std::filesystem::directory_iterator(container.path())) subdirs += entry.is_directory();
    CHECK(subdirs == 0);
}
