// The Pod KubeVirt would render, field by field, from manifests in
// tests/pod/manifests/: scheduling and DNS fields copied, dedicated CPUs
// making a Guaranteed Pod, huge pages mounted where QEMU maps them, Block
// claims as devices, the ephemeral-storage request, and --memory-limit
// ceiling. Expected numbers are worked out by hand from KubeVirt's rules
// (pkg/virt-controller/services/renderresources.go, template.go).
#include <catch2/catch.hpp>

#include "../vmi/test_files.hpp"
#include "launcher/pod_render.hpp"
#include "launcher/pod_resources.hpp"
#include "vmi/validate.hpp"

using namespace launcher;
using json = nlohmann::ordered_json;

namespace {

std::string manifest(const std::string& name) {
    return test_files::read(test_files::source_root() / "tests/pod/manifests" / name);
}

struct Rendered {
    vmi::VmiSpec spec;
    vmi::MemoryPlan plan;
    json pod;
};

Rendered render(const std::string& text, const PodOptions& options = {},
                vmi::BalloonMode balloon = vmi::BalloonMode::auto_) {
    Rendered r;
    r.spec = vmi::load_vmi(text);
    vmi::PlanOptions po;
    po.accel = vmi::Accel::kvm;
    po.launcher_in_cgroup = true;
    po.balloon = balloon;
    r.plan = vmi::plan_memory(r.spec, po);
    r.pod = render_pod(r.spec, r.plan, text, options).pod;
    return r;
}

const json& compute(const json& pod) { return pod["spec"]["containers"][0]; }

// A byte count as the pod command writes quantities (memory_quantity's own
// unit tests are in tests/launcher/pod_render_test.cpp).
std::string mi(std::uint64_t bytes) { return memory_quantity(vmi::Bytes{bytes}); }

const json* find_named(const json& list, const std::string& name) {
    for (const auto& item : list) {
        if (item["name"] == name) return &item;
    }
    return nullptr;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("pod: scheduling and DNS fields are copied into the Pod as KubeVirt copies them") {
    const Rendered r = render(manifest("scheduling.yaml"));
    const json& spec = r.pod["spec"];
    CHECK(spec["nodeSelector"] == json{{"cpu", "slow"}, {"kubernetes.io/arch", "amd64"}});
    const json node_affinity_term = {
        {"matchExpressions",
         json::array({{{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {"node01", "node02"}}}})}};
    CHECK(spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] ==
          json::array({node_affinity_term}));
    const json& preferred = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    CHECK(preferred["weight"] == 100);  // a number, as kubectl reads a plain 100
    CHECK(preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname");
    REQUIRE(spec["tolerations"].size() == 2);
    CHECK(spec["tolerations"][0] ==
          json{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "vms"}, {"effect", "NoSchedule"}});
    CHECK(spec["tolerations"][1]["tolerationSeconds"] == 300);
    // The integers Kubernetes wants are integers in the Pod however the VMI
    // spells them (a quoted one is refused, as KubeVirt's schema refuses it).
    const Rendered plus = render(replaced(replaced(manifest("scheduling.yaml"), "tolerationSeconds: 300",
                                                   "tolerationSeconds: +300"),
                                          "maxSkew: 1", "maxSkew: +1"));
    CHECK(plus.pod["spec"]["tolerations"][1]["tolerationSeconds"] == 300);
    CHECK(plus.pod["spec"]["topologySpreadConstraints"][0]["maxSkew"] == 1);
    CHECK_THROWS_WITH(vmi::load_vmi(replaced(manifest("scheduling.yaml"), "tolerationSeconds: 300",
                                             "tolerationSeconds: \"300\"")),
                      Catch::StartsWith("spec.tolerations[1].tolerationSeconds"));
    CHECK(spec["topologySpreadConstraints"][0]["maxSkew"] == 1);
    CHECK(spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway");
    CHECK(spec["schedulerName"] == "my-scheduler");
    CHECK(spec["priorityClassName"] == "vm-high");
    CHECK(spec["dnsPolicy"] == "None");
    CHECK(spec["dnsConfig"]["nameservers"] == json::array({"10.0.0.10", "fd00::a"}));
    CHECK(spec["dnsConfig"]["options"][0] == json{{"name", "ndots"}, {"value", "2"}});  // quoted: stays text
    CHECK(spec["dnsConfig"]["options"][1] == json{{"name", "edns0"}});
    CHECK(spec["hostname"] == "sched-host");
    CHECK(spec["subdomain"] == "vmsub");

    // `run` does not use them: each still gets a warning saying so.
    int scheduler_warnings = 0;
    for (const auto& w : r.spec.warnings) {
        scheduler_warnings += w.message.find("Kubernetes scheduler") != std::string::npos;
    }
    CHECK(scheduler_warnings == 9);  // every field but hostname, whose warning is about the guest's hostname
}

TEST_CASE("pod: the Pod's hostname is the VMI's name without KubeVirt's node labels unless asked") {
    const Rendered plain = render(test_files::read(test_files::source_root() / "examples/tiny.yaml"));
    CHECK(plain.pod["spec"]["hostname"] == "tiny");  // KubeVirt's SanitizeHostname
    CHECK_FALSE(plain.pod["spec"].contains("nodeSelector"));
    CHECK_FALSE(plain.pod["spec"].contains("affinity"));

    PodOptions o;
    o.kubevirt_node_labels = true;
    const Rendered sched = render(manifest("scheduling.yaml"), o);
    CHECK(sched.pod["spec"]["nodeSelector"] ==
          json{{"cpu", "slow"}, {"kubernetes.io/arch", "amd64"}, {"kubevirt.io/schedulable", "true"}});
    const Rendered pinned = render(manifest("dedicated.yaml"), o);
    CHECK(pinned.pod["spec"]["nodeSelector"] ==
          json{{"kubevirt.io/cpumanager", "true"}, {"kubevirt.io/schedulable", "true"}});
}

TEST_CASE("pod: a VirtualMachine's template scheduling fields reach the Pod") {
    const Rendered r = render(manifest("vm-scheduling.yaml"));
    CHECK(r.pod["spec"]["nodeSelector"] == json{{"disktype", "ssd"}});
    CHECK(r.pod["spec"]["tolerations"] == json::array({{{"key", "example.com/gpu"}, {"operator", "Exists"}}}));
    CHECK(r.pod["spec"]["priorityClassName"] == "low");
    CHECK(r.pod["spec"]["hostname"] == "vm-sched");
}

TEST_CASE("pod: scheduling values a Pod cannot carry are refused naming the field") {
    const std::string text = manifest("scheduling.yaml");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {replaced(text, "    cpu: slow", "    \"bad key\": slow"), "spec.nodeSelector.bad key"},
        {replaced(text, "    cpu: slow", "    cpu: \"no spaces\""), "spec.nodeSelector.cpu"},
        {replaced(text, "operator: Equal", "operator: Maybe"), "spec.tolerations[0].operator"},
        {replaced(text, "    nodeAffinity:", "    nodeAffinty:"), "spec.affinity"},
        {replaced(text, "maxSkew: 1", "maxSkew: 0"), "spec.topologySpreadConstraints[0].maxSkew"},
        {replaced(text, "whenUnsatisfiable: ScheduleAnyway", "whenUnsatisfiable: Sometimes"),
         "spec.topologySpreadConstraints[0].whenUnsatisfiable"},
        {replaced(text, "subdomain: vmsub", "subdomain: vm.sub"), "spec.subdomain"},
        {replaced(text, "hostname: sched-host", "hostname: Sched_Host"), "spec.hostname"},
        {replaced(text, "priorityClassName: vm-high", "priorityClassName: VM_High"), "spec.priorityClassName"},
        {replaced(text, "dnsPolicy: None", "dnsPolicy: Sometimes"), "spec.dnsPolicy"},
        {replaced(text, "nameservers: [10.0.0.10, \"fd00::a\"]", "nameservers: [10.0.0.10, dns.example]"),
         "spec.dnsConfig.nameservers[1]"},
        {replaced(text, "nameservers: [10.0.0.10, \"fd00::a\"]", "nameservers: []"), "spec.dnsPolicy"},
        {replaced(text, "searches: [vms.svc.cluster.local, example.com]", "searches: [a, b, c, d, e, f, g]"),
         "spec.dnsConfig.searches"},
        {replaced(text, "searches: [vms.svc.cluster.local, example.com]", "searches: [Example.com]"),
         "spec.dnsConfig.searches[0]"},
        {replaced(text, "    - name: edns0", "    - value: x"), "spec.dnsConfig.options[1]"},
    };
    for (const auto& [bad, field] : cases) {
        INFO(field);
        try {
            vmi::load_vmi(bad);
            FAIL("accepted");
        } catch (const vmi::SpecError& e) {
            CHECK_THAT(e.what(), Catch::StartsWith(field));
        }
    }
    const std::string isolated_alone =
        replaced(manifest("dedicated.yaml"), "      dedicatedCpuPlacement: true\n", "");
    CHECK_THROWS_WITH(vmi::load_vmi(isolated_alone),
                      Catch::StartsWith("spec.domain.cpu.isolateEmulatorThread: isolateEmulatorThread needs "
                                        "dedicatedCpuPlacement"));
}

TEST_CASE("pod: dedicated CPUs make a Guaranteed Pod with a CPU for the isolated emulator thread") {
    const Rendered r = render(manifest("dedicated.yaml"));
    const json& res = compute(r.pod)["resources"];
    // 1 socket x 2 cores x 2 threads = 4 vCPUs, + 1 for the emulator thread.
    CHECK(res["requests"]["cpu"] == "5");
    CHECK(res["limits"]["cpu"] == "5");
    // limits.memory = requests.memory = 2Gi + overhead (WithCPUPinning, then WithMemoryOverhead).
    const std::string memory = mi(vmi::gib(2).value + r.plan.overhead.value);
    CHECK(res["requests"]["memory"] == memory);
    CHECK(res["limits"]["memory"] == memory);
    // Kubernetes' Guaranteed QoS class: every container, init containers
    // included, has CPU and memory limits equal to its requests.
    for (const char* list : {"initContainers", "containers"}) {
        for (const auto& c : r.pod["spec"][list]) {
            INFO(c["name"]);
            for (const char* resource : {"cpu", "memory"}) {
                REQUIRE(c["resources"]["limits"].contains(resource));
                CHECK(c["resources"]["requests"][resource] == c["resources"]["limits"][resource]);
            }
        }
    }

    // KubeVirt's even-parity annotation: 4 vCPUs are even, so 2 CPUs more.
    const std::string annotated =
        replaced(manifest("dedicated.yaml"), "  name: pinned\n",
                 "  name: pinned\n  annotations:\n    alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity: \"\"\n");
    CHECK(compute(render(annotated).pod)["resources"]["limits"]["cpu"] == "6");
    // Without isolateEmulatorThread: the vCPUs alone.
    const std::string plain = replaced(manifest("dedicated.yaml"), "      isolateEmulatorThread: true\n", "");
    CHECK(compute(render(plain).pod)["resources"]["requests"]["cpu"] == "4");
}

TEST_CASE("pod: huge pages come from a HugePages emptyDir mounted where QEMU's mem-path points") {
    SECTION("2Mi pages") {
        const Rendered r = render(manifest("hugepages-2m.yaml"));
        const json* volume = find_named(r.pod["spec"]["volumes"], "hugepages");
        REQUIRE(volume);
        CHECK((*volume)["emptyDir"] == json{{"medium", "HugePages-2Mi"}});
        const json* m = find_named(compute(r.pod)["volumeMounts"], "hugepages");
        REQUIRE(m);
        CHECK((*m)["mountPath"] == "/dev/hugepages");
        CHECK(compute(r.pod)["resources"]["requests"]["hugepages-2Mi"] == "1Gi");
        CHECK(compute(r.pod)["resources"]["limits"]["hugepages-2Mi"] == "1Gi");
    }
    SECTION("1Gi pages on dedicated CPUs: memory holds only the overhead, limit = request") {
        const Rendered r = render(manifest("hugepages-1g.yaml"));
        const json* volume = find_named(r.pod["spec"]["volumes"], "hugepages");
        REQUIRE(volume);
        CHECK((*volume)["emptyDir"] == json{{"medium", "HugePages-1Gi"}});
        CHECK((*find_named(compute(r.pod)["volumeMounts"], "hugepages"))["mountPath"] == "/dev/hugepages-1G");
        const json& res = compute(r.pod)["resources"];
        CHECK(res["requests"]["hugepages-1Gi"] == "4Gi");
        CHECK(res["limits"]["hugepages-1Gi"] == "4Gi");
        CHECK(res["requests"]["memory"] == mi(r.plan.overhead.value));
        CHECK(res["limits"]["memory"] == mi(r.plan.overhead.value));
        CHECK(res["requests"]["cpu"] == "2");
        CHECK(res["limits"]["cpu"] == "2");
    }
    SECTION("no huge pages: no such volume") {
        CHECK_FALSE(find_named(render(manifest("overcommit.yaml")).pod["spec"]["volumes"], "hugepages"));
    }
}

TEST_CASE("pod: Block claims are volumeDevices at the path the launcher looks for them") {
    PodOptions o;
    o.block_volumes = {"rootdisk", "golden"};
    const Rendered r = render(manifest("claims.yaml"), o);
    const json& c = compute(r.pod);
    REQUIRE(c.contains("volumeDevices"));
    CHECK(c["volumeDevices"] ==
          json::array({{{"name", "volume-rootdisk"}, {"devicePath", "/var/run/vmi-launcher/volumes/rootdisk"}},
                       {{"name", "volume-golden"}, {"devicePath", "/var/run/vmi-launcher/volumes/golden"}}}));
    CHECK_FALSE(find_named(c["volumeMounts"], "volume-rootdisk"));
    CHECK(find_named(c["volumeMounts"], "volume-scratch"));
    // The claims are volumes of the Pod all the same.
    CHECK((*find_named(r.pod["spec"]["volumes"], "volume-golden"))["persistentVolumeClaim"]["claimName"] ==
          "golden-image");

    const Rendered fs = render(manifest("claims.yaml"));
    CHECK_FALSE(compute(fs.pod).contains("volumeDevices"));

    PodOptions wrong;
    wrong.block_volumes = {"nosuch"};
    CHECK_THROWS_WITH(render(manifest("claims.yaml"), wrong),
                      "--volume-mode nosuch=block: the VMI has no persistentVolumeClaim (or ephemeral) volume "
                      "\"nosuch\"");
}

TEST_CASE("pod: the ephemeral-storage request covers every disk-backed emptyDir") {
    // tiny: state 32Mi (no overlay), tmp 64Mi, one image copied (10Gi) and the
    // tools (16Mi), and KubeVirt's 50M overhead as 48Mi: 10400Mi.
    const Rendered tiny = render(test_files::read(test_files::source_root() / "examples/tiny.yaml"));
    CHECK(compute(tiny.pod)["resources"]["requests"]["ephemeral-storage"] == "10400Mi");
    // claims: state 32Mi + one ephemeral claim's overlay 10Gi, tmp 64Mi, no
    // images, 48Mi: 10384Mi.
    const Rendered claims = render(manifest("claims.yaml"));
    CHECK(compute(claims.pod)["resources"]["requests"]["ephemeral-storage"] == "10384Mi");
    CHECK_FALSE(compute(claims.pod)["resources"]["limits"].contains("ephemeral-storage"));
}

TEST_CASE("pod --memory-limit ceiling: requests at the floor, limits at the ceiling, each plus the overhead") {
    PodOptions o;
    o.limit_rule = PodLimitRule::ceiling;
    const Rendered r = render(manifest("overcommit.yaml"), o);
    REQUIRE(r.plan.balloon.enabled);
    const std::uint64_t overhead = r.plan.overhead.value;
    const json& res = compute(r.pod)["resources"];
    CHECK(res["requests"]["memory"] == mi((256u << 20) + overhead));  // floor = requests.memory
    CHECK(res["limits"]["memory"] == mi((512u << 20) + overhead));    // ceiling = guest memory
    const json& args = compute(r.pod)["args"];
    const auto balloon = std::find(args.begin(), args.end(), "--balloon");
    REQUIRE(balloon != args.end());
    CHECK(*(balloon + 1) == "auto");

    // The other rules on the same VMI: no limit (kubevirt), the cgroup limit (cgroup).
    CHECK_FALSE(compute(render(manifest("overcommit.yaml")).pod)["resources"]["limits"].contains("memory"));
    PodOptions cgroup;
    cgroup.limit_rule = PodLimitRule::cgroup;
    CHECK(compute(render(manifest("overcommit.yaml"), cgroup).pod)["resources"]["limits"]["memory"] ==
          mi((256u << 20) + overhead));

    // No balloon: the limit the launcher enforces, and the pod's launcher is told so.
    const Rendered off = render(manifest("overcommit.yaml"), o, vmi::BalloonMode::off);
    CHECK(compute(off.pod)["resources"]["limits"]["memory"] == mi((256u << 20) + overhead));
    const json& off_args = compute(off.pod)["args"];
    CHECK(*(std::find(off_args.begin(), off_args.end(), "--balloon") + 1) == "off");

    // Dedicated CPUs need a Guaranteed pod.
    CHECK_THROWS_WITH(render(manifest("dedicated.yaml"), o), Catch::StartsWith("--memory-limit ceiling: "));
}

TEST_CASE("pod: VMI labels a Pod cannot carry are refused naming the field") {
    const std::string tiny = test_files::read(test_files::source_root() / "examples/tiny.yaml");
    CHECK_THROWS_WITH(render(replaced(tiny, "    app: tiny", "    \"app name\": tiny")),
                      Catch::StartsWith("metadata.labels: \"app name\" is not a label key"));
    CHECK_THROWS_WITH(render(replaced(tiny, "    app: tiny", "    app: \"tiny vm\"")),
                      Catch::StartsWith("metadata.labels.app: \"tiny vm\" is not a label value"));
}

TEST_CASE("pod: forwarded ports are the compute container's ports, reached at the pod's address") {
    const std::string text = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: web
spec:
  domain:
    memory:
      guest: 256Mi
    devices:
      interfaces:
      - name: default
        masquerade: {}
        ports:
        - {name: http, port: 80}
        - {port: 53, protocol: UDP}
      - name: second
        bridge: {}
  networks:
  - name: default
    pod: {}
  - name: second
    multus: {networkName: lan}
)";
    const Rendered r = render(text);
    const json& c = compute(r.pod);
    REQUIRE(c.contains("ports"));
    CHECK(c["ports"] == json::parse(R"([{"containerPort": 80, "protocol": "TCP", "name": "http"},
                                        {"containerPort": 53, "protocol": "UDP"}])"));
    const auto& args = c["args"];
    const auto at = std::find(args.begin(), args.end(), "--forward-address");
    REQUIRE(at != args.end());
    CHECK(*(at + 1) == "0.0.0.0");

    // No ports: nothing listed and the launcher keeps its default.
    const Rendered plain = render(manifest("scheduling.yaml"));
    CHECK_FALSE(compute(plain.pod).contains("ports"));
    const auto& plain_args = compute(plain.pod)["args"];
    CHECK(std::find(plain_args.begin(), plain_args.end(), "--forward-address") == plain_args.end());
}
