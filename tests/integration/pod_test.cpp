// A pod without Kubernetes: `vmi-launcher pod` renders the Pod, and the test
// runs it as a container runtime would (tests/integration/simulated-pod.sh).
// podman runs the same Pod for real (tests/container, suite `container`);
// these tests stay for what podman does not do as kubelet does: it gives the
// container no oom_score_adj by QoS class (kubelet: 2..999 for Burstable,
// which decides whether the launcher can stay immune), and it sets the
// container's limit only from the Pod (so no limit other than the plan's).
//
// The simulation:
// the ConfigMap and emptyDirs as directories bound at their mount paths, the
// init containers' own commands (the disk copy runs chrooted into the disk
// image), then the compute container's command as PID 1 in new mount, PID
// and cgroup namespaces, inside a memory cgroup limited to the pod's
// limits.memory, with the memory hierarchy mounted read-only (adopt) or
// writable (nested).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../launcher/run_command.hpp"
#include "launcher_process.hpp"
#include "vmi/quantity.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;
using json = nlohmann::json;

namespace {

const fs::path memory_root = "/sys/fs/cgroup/memory";
// kubelet's oom_score_adj for a Burstable container lies between 2 and 999.
constexpr int container_oom_score_adj = 600;

std::string script() { return itest::source_root() + "/tests/integration/simulated-pod.sh"; }

std::uint64_t bytes_of(const json& quantity) {
    const auto q = vmi::Quantity::try_parse(quantity.get<std::string>());
    REQUIRE(q);
    return q->bytes()->value;
}

bool has_cap_sys_resource() {
    const std::string status = itest::read_file("/proc/self/status");
    const auto at = status.find("CapEff:");
    const unsigned long long caps = std::stoull(status.substr(at + 7), nullptr, 16);
    return (caps >> 24) & 1;  // CAP_SYS_RESOURCE
}

int oom_score_adj(pid_t pid) { return std::stoi(itest::read_file(fmt::format("/proc/{}/oom_score_adj", pid))); }

std::string comm(pid_t pid) {
    std::string c = itest::read_file(fmt::format("/proc/{}/comm", pid));
    if (!c.empty() && c.back() == '\n') c.pop_back();
    return c;
}

std::vector<pid_t> procs(const fs::path& cgroup) {
    std::vector<pid_t> out;
    std::istringstream in(itest::read_file((cgroup / "cgroup.procs").string()));
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
}

// One pod: its manifests, its volumes as directories, its container cgroup.
class SimulatedPod {
public:
    SimulatedPod(const std::string& name, const std::string& vmi_yaml, std::vector<std::string> render_options)
        : dir_(fs::path("/var/tmp") / fmt::format("vmil-pod-itest-{}-{}", getpid(), name)),
          cgroup_(memory_root / fmt::format("vmil-pod-itest-{}", getpid()) / name) {
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "bin");
        std::ofstream(dir_ / "vmi.yaml") << vmi_yaml;
        // The image's vmi-launcher on PATH is the one just built: a copy, since
        // the checkout may live under a path the pod hides (its /tmp).
        fs::copy_file(itest::launcher_path(), dir_ / "bin" / "vmi-launcher");

        std::vector<std::string> argv{itest::launcher_path(), "pod", (dir_ / "vmi.yaml").string(), "-o", "json",
                                      "--with-configmap", "--accel", "tcg"};
        argv.insert(argv.end(), render_options.begin(), render_options.end());
        const auto r = test_cmd::run(argv);
        INFO(r.err);
        REQUIRE(r.status == 0);
        const json list = json::parse(r.out);
        REQUIRE(list["kind"] == "List");
        config_map_ = list["items"][0];
        pod_ = list["items"][1];
        make_volumes();
    }

    ~SimulatedPod() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
        if (fs::exists(cgroup_)) {
            for (const auto& e : fs::directory_iterator(cgroup_, ec)) {
                if (e.is_directory()) ::rmdir(e.path().c_str());
            }
            ::rmdir(cgroup_.c_str());
        }
        ::rmdir(cgroup_.parent_path().c_str());  // fails while another pod's cgroup is there
    }

    const json& pod() const { return pod_; }
    const json& compute() const { return pod_["spec"]["containers"][0]; }
    const fs::path& cgroup() const { return cgroup_; }
    fs::path termination_log() const { return dir_ / "termination-log"; }
    std::uint64_t memory_limit() const { return bytes_of(compute()["resources"]["limits"]["memory"]); }

    // Each init container's command, in order, as the pod would run them;
    // an image other than the launcher's is the unpacked root in `images`.
    void run_init_containers(const std::map<std::string, std::string>& images) {
        int n = 0;
        for (const auto& c : pod_["spec"]["initContainers"]) {
            const std::string image = c["image"];
            std::string root = "/";
            if (image != compute()["image"]) {
                REQUIRE(images.contains(image));
                root = (dir_ / fmt::format("rootfs-{}", n++)).string();
                fs::copy(images.at(image), root, fs::copy_options::recursive);
            }
            auto argv = container_argv(c, {"--root", root});
            const auto r = test_cmd::run(argv);
            INFO("init container " << c["name"] << ": " << r.err);
            REQUIRE(r.status == 0);
        }
    }

    // The compute container: in its memory cgroup, limited as kubelet would.
    std::vector<std::string> compute_argv(const std::string& cgroup_access) {
        fs::create_directories(cgroup_);
        std::ofstream(cgroup_ / "memory.limit_in_bytes") << memory_limit();
        std::ofstream(termination_log()) << "";
        return container_argv(compute(), {"--cgroup", cgroup_.string(), "--cgroup-access", cgroup_access,
                                          "--oom-score-adj", std::to_string(container_oom_score_adj)},
                              {termination_log().string() + ":" + compute()["terminationMessagePath"].get<std::string>()});
    }

private:
    void make_volumes() {
        for (const auto& v : pod_["spec"]["volumes"]) {
            const fs::path d = dir_ / "volumes" / v["name"].get<std::string>();
            fs::create_directories(d);
            if (v.contains("configMap")) {
                REQUIRE(v["configMap"]["name"] == config_map_["metadata"]["name"]);
                for (const auto& [key, value] : config_map_["data"].items()) std::ofstream(d / key) << value.get<std::string>();
            } else {
                REQUIRE(v.contains("emptyDir"));
            }
            volumes_[v["name"]] = d;
        }
    }

    std::vector<std::string> container_argv(const json& c, std::vector<std::string> options,
                                            std::vector<std::string> extra_mounts = {}) const {
        std::string mounts;
        for (const auto& m : c["volumeMounts"]) {
            mounts += fmt::format("{}:{}{}\n", volumes_.at(m["name"]).string(), m["mountPath"].get<std::string>(),
                                  m.value("readOnly", false) ? ":ro" : "");
        }
        for (const auto& m : extra_mounts) mounts += m + "\n";
        std::vector<std::string> argv{"/usr/bin/env", "PATH=" + (dir_ / "bin").string() + ":/usr/sbin:/usr/bin:/sbin:/bin",
                                      "SIMULATED_POD_MOUNTS=" + mounts, script()};
        argv.insert(argv.end(), options.begin(), options.end());
        argv.push_back("--");
        for (const auto& a : c["command"]) argv.push_back(a);
        if (c.contains("args")) {
            for (const auto& a : c["args"]) argv.push_back(a);
        }
        return argv;
    }

    fs::path dir_;
    fs::path cgroup_;
    json config_map_;
    json pod_;
    std::map<std::string, fs::path> volumes_;
};

std::string vmi_yaml(const std::string& name, const std::string& guest, const std::string& request,
                     const std::string& kernel_args) {
    return itest::test_vmi_yaml(name, guest, request, kernel_args);
}

// Who is in the container's cgroup, by name (host PIDs).
std::map<std::string, pid_t> members(const fs::path& cgroup) {
    std::map<std::string, pid_t> out;
    for (pid_t p : procs(cgroup)) out[comm(p)] = p;
    return out;
}

// The launcher shares the limit with QEMU: it is immune where it may be,
// else QEMU's score is raised above the container's.
void check_oom_scores(pid_t launcher, pid_t qemu, const LauncherProcess& l) {
    if (has_cap_sys_resource()) {
        CHECK(oom_score_adj(launcher) == -1000);
        CHECK(oom_score_adj(qemu) == container_oom_score_adj);
    } else {
        CHECK(oom_score_adj(launcher) == container_oom_score_adj);
        CHECK(oom_score_adj(qemu) == std::min(1000, container_oom_score_adj + 500));
        CHECK_THAT(l.output(), Catch::Contains("CAP_SYS_RESOURCE"));
    }
}

const std::map<std::string, std::string>& guest_images() {
    static const std::map<std::string, std::string> images{{"vmi-launcher/test-guest", itest::guest_image()}};
    return images;
}

}  // namespace

TEST_CASE("adopt: read-only cgroupfs, the launcher as PID 1 boots the guest in the container's own cgroup") {
    SimulatedPod p("adopt-boot", vmi_yaml("adopt-boot", "256Mi", "256Mi", ""), {"--memory-limit", "cgroup"});
    p.run_init_containers(guest_images());
    LauncherProcess l(p.compute_argv("ro"));
    auto mode = l.wait_event("cgroup_mode", 60s);
    REQUIRE(mode);
    CHECK((*mode)["mode"] == "adopt");
    auto plan = l.wait_event("memory_plan", 5s);
    REQUIRE(plan);
    // The plan in the pod is the plan the pod was rendered from.
    CHECK((*plan)["cgroup_limit_bytes"] == p.memory_limit());
    CHECK(std::to_string((*plan)["cgroup_limit_bytes"].get<std::uint64_t>()) ==
          p.pod()["metadata"]["annotations"]["vmi-launcher/cgroup-limit-bytes"]);
    REQUIRE(l.wait_event("oom_watch_polling", 5s));  // cgroup v1 read-only: no eventfd
    auto started = l.wait_event("qemu_started", 30s);
    REQUIRE(started);
    REQUIRE(l.wait_event("qmp_ready", 30s));
    // Launcher and QEMU both in the container's cgroup; nothing was created in it.
    const auto who = members(p.cgroup());
    REQUIRE(who.contains("vmi-launcher"));
    REQUIRE(who.contains("qemu-system-x86"));
    CHECK(who.size() == 2);
    std::size_t subdirs = 0;
    for (const auto& e : fs::directory_iterator(p.cgroup())) subdirs += e.is_directory();
    CHECK(subdirs == 0);
    check_oom_scores(who.at("vmi-launcher"), who.at("qemu-system-x86"), l);
    CHECK((*started)["pid"] != who.at("qemu-system-x86"));  // the launcher sees its own PID namespace

    const auto code = l.wait_exit(120s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_FALSE(l.wait_event("cgroup_limit_differs", 0s));
    auto shutdown = l.wait_event("shutdown", 1s);
    REQUIRE(shutdown);
    CHECK((*shutdown)["reason"] == "guest-shutdown");
    CHECK_THAT(itest::read_file(p.termination_log()), Catch::StartsWith("Completed"));
}

TEST_CASE("adopt: a container limit other than the plan's is a warning with both numbers") {
    SimulatedPod p("adopt-differs", vmi_yaml("adopt-differs", "256Mi", "256Mi", ""), {"--memory-limit", "cgroup"});
    p.run_init_containers(guest_images());
    auto argv = p.compute_argv("ro");
    const std::uint64_t other = p.memory_limit() + (64u << 20);
    std::ofstream(p.cgroup() / "memory.limit_in_bytes") << other;
    LauncherProcess l(argv);
    auto differs = l.wait_event("cgroup_limit_differs", 60s);
    REQUIRE(differs);
    CHECK_THAT((*differs)["msg"].get<std::string>(),
               Catch::Contains(std::to_string(other)) && Catch::Contains(std::to_string(p.memory_limit())));
    const auto code = l.wait_exit(120s);
    REQUIRE(code);
    CHECK(*code == 0);
}

TEST_CASE("nested: writable cgroupfs, the VM gets a child cgroup with the plan's limit, the launcher a leaf") {
    SimulatedPod p("nested-boot", vmi_yaml("nested-boot", "256Mi", "256Mi", ""), {"--memory-limit", "cgroup", "--cgroup-mode", "nested"});
    CHECK(p.compute()["securityContext"]["privileged"] == true);
    p.run_init_containers(guest_images());
    LauncherProcess l(p.compute_argv("rw"));
    auto mode = l.wait_event("cgroup_mode", 60s);
    REQUIRE(mode);
    CHECK((*mode)["mode"] == "nested");
    auto plan = l.wait_event("memory_plan", 5s);
    REQUIRE(plan);
    auto ready = l.wait_event("cgroup_ready", 30s);
    REQUIRE(ready);
    REQUIRE(l.wait_event("qmp_ready", 30s));
    const fs::path vm = p.cgroup() / "itest" / "nested-boot";  // <own cgroup>/<namespace>/<name>
    const fs::path leaf = p.cgroup() / "launcher";
    CHECK(std::stoull(itest::read_file((vm / "memory.limit_in_bytes").string())) == (*plan)["cgroup_limit_bytes"]);
    // The VM's limit sits inside the container's: the launcher's own share is left to it.
    CHECK((*plan)["cgroup_limit_bytes"].get<std::uint64_t>() < p.memory_limit());
    const auto in_vm = members(vm);
    const auto in_leaf = members(leaf);
    REQUIRE(in_vm.contains("qemu-system-x86"));
    REQUIRE(in_leaf.contains("vmi-launcher"));
    CHECK(procs(p.cgroup()).empty());
    check_oom_scores(in_leaf.at("vmi-launcher"), in_vm.at("qemu-system-x86"), l);
    const auto code = l.wait_exit(120s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_FALSE(fs::exists(vm));  // removed when QEMU was gone
    CHECK_THAT(itest::read_file(p.termination_log()), Catch::StartsWith("Completed"));
}
