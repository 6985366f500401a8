// The rendered Pod carries the memory plan's numbers by KubeVirt's rules, for
// every example, with and without overcommitGuestOverhead, memory
// overcommit, both overhead models and both accelerators.
#include <catch2/catch.hpp>

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "../vmi/test_files.hpp"
#include "launcher/pod_render.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/quantity.hpp"
#include "vmi/validate.hpp"

using namespace launcher;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> examples() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(test_files::source_root() / "examples")) {
        if (e.path().extension() == ".yaml") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::uint64_t bytes_of(const json& quantity) {
    REQUIRE(quantity.is_string());
    const auto q = vmi::Quantity::try_parse(quantity.get<std::string>());
    REQUIRE(q);
    REQUIRE(q->bytes());
    return q->bytes()->value;
}

std::int64_t millis_of(const json& quantity) {
    const auto q = vmi::Quantity::try_parse(quantity.get<std::string>());
    REQUIRE(q);
    return *q->millis();
}

const json& compute(const json& pod) {
    const json& containers = pod["spec"]["containers"];
    REQUIRE(containers.size() == 1);
    REQUIRE(containers[0]["name"] == "compute");
    return containers[0];
}

// The value after `flag` in the compute container's args.
std::string arg(const json& pod, const std::string& flag) {
    const json& args = compute(pod)["args"];
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == flag) return args[i + 1].get<std::string>();
    }
    FAIL("no " << flag << " in the compute container's args");
    return {};
}

// The YAML scalar as text; numbers and booleans as JSON writes them.
bool same(const YAML::Node& y, const json& j) {
    if (j.is_object()) {
        if (!y.IsMap() || y.size() != j.size()) return false;
        for (const auto& [k, v] : j.items()) {
            if (!y[k] || !same(y[k], v)) return false;
        }
        return true;
    }
    if (j.is_array()) {
        if (!y.IsSequence() || y.size() != j.size()) return false;
        for (std::size_t i = 0; i < j.size(); ++i) {
            if (!same(y[i], j[i])) return false;
        }
        return true;
    }
    if (!y.IsScalar()) return false;
    return y.Scalar() == (j.is_string() ? j.get<std::string>() : j.dump());
}

}  // namespace

TEST_CASE("every example's Pod asks for what its plan says, by KubeVirt's rules") {
    int rendered = 0;
    for (const auto& path : examples()) {
        const std::string text = test_files::read(path);
        const vmi::VmiSpec written = vmi::load_vmi(text);
        for (const bool ogo : {false, true}) {
            vmi::VmiSpec spec = written;
            spec.domain.resources.overcommit_guest_overhead = ogo;
            for (const auto model : {vmi::OverheadModel::launcher, vmi::OverheadModel::kubevirt}) {
                for (const auto accel : {vmi::Accel::kvm, vmi::Accel::tcg}) {
                    for (const unsigned pct : {100u, 150u}) {
                        for (const auto rule : {PodLimitRule::kubevirt, PodLimitRule::cgroup}) {
                            INFO(path.filename().string() << " overcommitGuestOverhead=" << ogo << " model "
                                                          << vmi::to_string(model) << " accel " << vmi::to_string(accel)
                                                          << " memoryOvercommit " << pct << " limit rule "
                                                          << (rule == PodLimitRule::cgroup ? "cgroup" : "kubevirt"));
                            const vmi::PlanOptions po{model, accel, pct, true};
                            const vmi::MemoryPlan plan = vmi::plan_memory(spec, po);
                            PodOptions options;
                            options.limit_rule = rule;
                            const PodManifests m = render_pod(spec, plan, text, options);
                            const json& res = compute(m.pod)["resources"];

                            // requests.memory: request + overhead, or the request alone.
                            const std::uint64_t req = bytes_of(res["requests"]["memory"]);
                            CHECK(req == plan.pod_request.value);
                            if (!plan.hugepages) {
                                CHECK(req == plan.request.value + (ogo ? 0 : plan.overhead.value));
                            }
                            // limits.memory: limit + overhead when the VMI has a limit (or always the cgroup limit).
                            const bool has_limit = res.contains("limits") && res["limits"].contains("memory");
                            if (rule == PodLimitRule::cgroup) {
                                REQUIRE(has_limit);
                                CHECK(bytes_of(res["limits"]["memory"]) == plan.cgroup_limit.value);
                            } else if (plan.limit) {
                                REQUIRE(has_limit);
                                CHECK(bytes_of(res["limits"]["memory"]) == plan.limit->value + plan.overhead.value);
                            } else {
                                CHECK_FALSE(has_limit);
                            }
                            if (has_limit) CHECK(bytes_of(res["limits"]["memory"]) >= req);
                            // CPU from the topology: a tenth of a CPU per vCPU without a CPU request.
                            if (!spec.domain.resources.requests.cpu && !spec.domain.resources.limits.cpu &&
                                !spec.domain.cpu.dedicated_cpu_placement) {
                                CHECK(millis_of(res["requests"]["cpu"]) == 100 * spec.vcpus());
                            }
                            // /dev/kvm through the device plugin's resource, only for KVM.
                            const bool kvm = res.contains("limits") && res["limits"].contains("devices.kubevirt.io/kvm");
                            CHECK(kvm == (accel == vmi::Accel::kvm));
                            // The launcher in the pod plans the same way.
                            CHECK(arg(m.pod, "--accel") == vmi::to_string(accel));
                            CHECK(arg(m.pod, "--overhead-model") == vmi::to_string(model));
                            CHECK(arg(m.pod, "--memory-overcommit") == std::to_string(pct));
                            CHECK(m.pod["metadata"]["annotations"]["vmi-launcher/cgroup-limit-bytes"] ==
                                  std::to_string(plan.cgroup_limit.value));
                            ++rendered;
                        }
                    }
                }
            }
        }
    }
    CHECK(rendered >= 5 * 32);
}

TEST_CASE("overcommitGuestOverhead takes exactly the overhead out of the request, never out of the limit") {
    const std::string text = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: limited, namespace: ns}
spec:
  domain:
    memory: {guest: 2Gi}
    resources:
      requests: {memory: 1Gi}
      limits: {memory: 2Gi}
    devices: {}
)";
    vmi::VmiSpec spec = vmi::load_vmi(text);
    const vmi::PlanOptions po{vmi::OverheadModel::kubevirt, vmi::Accel::kvm, 100, true};
    const auto with = render_pod(spec, vmi::plan_memory(spec, po), text, {});
    spec.domain.resources.overcommit_guest_overhead = true;
    const auto plan = vmi::plan_memory(spec, po);
    const auto without = render_pod(spec, plan, text, {});
    const json& a = compute(with.pod)["resources"];
    const json& b = compute(without.pod)["resources"];
    CHECK(bytes_of(a["requests"]["memory"]) - bytes_of(b["requests"]["memory"]) == plan.overhead.value);
    CHECK(bytes_of(b["requests"]["memory"]) == 1ull << 30);
    CHECK(bytes_of(a["limits"]["memory"]) == bytes_of(b["limits"]["memory"]));
    CHECK(bytes_of(b["limits"]["memory"]) == (2ull << 30) + plan.overhead.value);
}

TEST_CASE("memory overcommit scales the request of a VMI that gives only guest memory") {
    const std::string text = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: guest-only}
spec:
  domain:
    memory: {guest: 3Gi}
    cpu: {cores: 4}
    devices: {}
)";
    const vmi::VmiSpec spec = vmi::load_vmi(text);
    for (const unsigned pct : {100u, 150u, 200u}) {
        const auto plan = vmi::plan_memory(spec, {vmi::OverheadModel::launcher, vmi::Accel::kvm, pct, true});
        const auto m = render_pod(spec, plan, text, {});
        const json& res = compute(m.pod)["resources"];
        CHECK(bytes_of(res["requests"]["memory"]) == (3ull << 30) * 100 / pct + plan.overhead.value);
        CHECK(millis_of(res["requests"]["cpu"]) == 400);
    }
}

TEST_CASE("the pod ties itself to the VMI, outlives its grace period and carries it in the ConfigMap") {
    const auto path = test_files::source_root() / "examples" / "tiny.yaml";
    const std::string text = test_files::read(path);
    const vmi::VmiSpec spec = vmi::load_vmi(text);
    const auto plan = vmi::plan_memory(spec, {vmi::OverheadModel::launcher, vmi::Accel::tcg, 100, true});
    const auto m = render_pod(spec, plan, text, {});
    const json& pod = m.pod;
    CHECK(pod["apiVersion"] == "v1");
    CHECK(pod["kind"] == "Pod");
    CHECK(pod["metadata"]["namespace"] == "default");
    CHECK(pod["metadata"]["labels"]["vmi-launcher/vmi"] == "tiny");
    CHECK(pod["metadata"]["labels"]["app"] == "tiny");  // the VMI's own labels come along
    CHECK(pod["metadata"]["annotations"]["vmi-launcher/vmi"] == "default/tiny");
    CHECK(pod["spec"]["terminationGracePeriodSeconds"].get<std::int64_t>() == 30 + pod_grace_margin_seconds);
    CHECK(pod["spec"]["restartPolicy"] == "Never");
    const json& c = compute(pod);
    CHECK(c["terminationMessagePath"] == "/dev/termination-log");
    CHECK(arg(pod, "--termination-log") == "/dev/termination-log");
    CHECK(arg(pod, "--cgroup-mode") == "auto");

    // The VMI travels verbatim in the ConfigMap the pod mounts.
    CHECK(m.config_map["kind"] == "ConfigMap");
    CHECK(m.config_map["metadata"]["name"] == config_map_name(spec));
    CHECK(m.config_map["data"][pod_paths::vmi_key] == text);
    bool mounted = false;
    for (const auto& v : pod["spec"]["volumes"]) {
        if (v.contains("configMap") && v["configMap"]["name"] == config_map_name(spec)) {
            for (const auto& vm : c["volumeMounts"]) {
                if (vm["name"] == v["name"]) mounted = vm["mountPath"] == pod_paths::vmi_dir && vm["readOnly"] == true;
            }
        }
    }
    CHECK(mounted);
    CHECK(c["command"][2] == std::string(pod_paths::vmi_dir) + "/" + pod_paths::vmi_key);

    // The kernelBoot image is copied where --images-dir finds it.
    const json& inits = pod["spec"]["initContainers"];
    REQUIRE(inits.size() == 2);
    CHECK(inits[0]["command"][1] == pod_paths::busybox);
    CHECK(inits[1]["image"] == "vmi-launcher/test-guest");
    const std::string script = inits[1]["command"][3];
    const std::string root =
        std::string(pod_paths::images_dir) + "/" + qemu_args::image_dir_name("vmi-launcher/test-guest");
    CHECK_THAT(script, Catch::Contains("cp /boot/vmlinuz " + root + "/boot/vmlinuz") &&
                           Catch::Contains("cp /boot/initrd.img " + root + "/boot/initrd.img"));
    CHECK(arg(pod, "--images-dir") == pod_paths::images_dir);
}

TEST_CASE("the security context follows the cgroup mode: adopt needs no privileges, nested a writable cgroup") {
    const std::string text = test_files::read(test_files::source_root() / "examples" / "tiny.yaml");
    const vmi::VmiSpec spec = vmi::load_vmi(text);
    const auto plan = vmi::plan_memory(spec, {vmi::OverheadModel::launcher, vmi::Accel::kvm, 100, true});
    PodOptions o;
    o.cgroup_mode = PodCgroupMode::adopt;
    const auto adopt = render_pod(spec, plan, text, o);
    const json& ac = compute(adopt.pod)["securityContext"];
    CHECK_FALSE(ac.contains("privileged"));
    CHECK(ac["allowPrivilegeEscalation"] == false);
    CHECK(ac["capabilities"]["drop"] == json::array({"ALL"}));
    CHECK(adopt.pod["spec"]["securityContext"]["runAsNonRoot"] == true);
    o.cgroup_mode = PodCgroupMode::nested;
    const auto nested = render_pod(spec, plan, text, o);
    CHECK(compute(nested.pod)["securityContext"]["privileged"] == true);
}

TEST_CASE("the YAML says the same as the JSON, the VMI's text included") {
    for (const auto& path : examples()) {
        INFO(path.filename().string());
        const std::string text = test_files::read(path);
        const vmi::VmiSpec spec = vmi::load_vmi(text);
        const auto plan = vmi::plan_memory(spec, {vmi::OverheadModel::launcher, vmi::Accel::kvm, 100, true});
        const auto m = render_pod(spec, plan, text, {});
        CHECK(same(YAML::Load(manifest_to_yaml(m.pod)), m.pod));
        CHECK(same(YAML::Load(manifest_to_yaml(m.config_map)), m.config_map));
    }
    // Text without a final line break, and with trailing spaces, survives too.
    const json odd = {{"data",
                        {{"a", "line one  \nline two"}, {"b", "x\n\n"}, {"c", "  indented\nnot\n"}, {"d", "ok\n"}}}};
    CHECK(same(YAML::Load(manifest_to_yaml(odd)), odd));
}

TEST_CASE("quantities: whole binary units where exact, plain bytes otherwise; CPUs in millicores") {
    CHECK(memory_quantity(vmi::gib(10)) == "10Gi");
    CHECK(memory_quantity(vmi::mib(1536)) == "1536Mi");
    CHECK(memory_quantity(vmi::Bytes{26380075008}) == "25158Mi");
    CHECK(memory_quantity(vmi::Bytes{25123822592}) == "24534983Ki");
    CHECK(memory_quantity(vmi::Bytes{1000000001}) == "1000000001");
    CHECK(cpu_quantity(2000) == "2");
    CHECK(cpu_quantity(250) == "250m");
}

TEST_CASE("a path with .. in a container disk is refused by the renderer itself") {
    // The renderer does not rely on validation for this: the spec is made
    // with a harmless path, which is then replaced behind validation's back.
    const std::string text = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: escape}
spec:
  domain:
    memory: {guest: 1Gi}
    devices:
      disks:
      - name: root
        disk: {bus: virtio}
  volumes:
  - name: root
    containerDisk:
      image: example/disk
      path: /disk/root.img
)";
    vmi::VmiSpec spec = vmi::load_vmi(text);
    REQUIRE(spec.volumes.size() == 1);
    auto* disk = std::get_if<vmi::ContainerDiskSource>(&spec.volumes[0].source);
    REQUIRE(disk);
    const auto plan = vmi::plan_memory(spec, {});
    REQUIRE_NOTHROW(render_pod(spec, plan, text, {}));

    for (const char* path : {"/disk/../../etc/shadow", "../etc/shadow", "a/../../b"}) {
        INFO(path);
        disk->path = path;
        CHECK_THROWS_AS(render_pod(spec, plan, text, {}), std::runtime_error);
        CHECK_THROWS_WITH(render_pod(spec, plan, text, {}),
                          "volume \"root\": path: \"" + std::string(path) + "\" must not contain ..");
    }
}
