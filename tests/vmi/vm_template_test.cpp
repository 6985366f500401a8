// A VirtualMachine's template is read exactly as the same VMI: each VMI below
// is wrapped into a VirtualMachine, and both must give the same warnings (at
// the template's paths), the same plans, or the same error at the template's
// path. The VirtualMachine's own fields have their own policy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>

#include <yaml-cpp/yaml.h>

#include "vmi/plan_output.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

const std::string vmi_head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n";
const std::string vmi_domain = "spec:\n  domain:\n    memory:\n      guest: 256Mi\n";

// VMIs each using fields a VMI warns about, as `kubectl get -o yaml` and
// KubeVirt's examples write them.
const std::vector<std::string> warned_vmis = {
    vmi_head + "  creationTimestamp: null\n" + vmi_domain,
    vmi_head + "  labels:\n    app: web\n  annotations:\n    note: hi\n  resourceVersion: \"12\"\n  foo: bar\n" +
        vmi_domain,
    vmi_head + vmi_domain + "    devices:\n      rng: {}\n      blockMultiQueue: true\n",
    vmi_head + "spec:\n  priorityClassName: high\n  nodeSelector:\n    cpu: slow\n  tolerations:\n  - key: a\n"
               "  domain:\n    memory:\n      guest: 256Mi\n",
    vmi_head + "spec:\n  readinessProbe:\n    tcpSocket:\n      port: 22\n  livenessProbe:\n    httpGet:\n"
               "      port: 80\n  domain:\n    memory:\n      guest: 256Mi\n",
    vmi_head + "spec:\n  domain:\n    cpu:\n      cores: 2\n      dedicatedCpuPlacement: true\n"
               "      isolateEmulatorThread: true\n    resources:\n      requests:\n        memory: 512Mi\n"
               "        cpu: \"2\"\n      limits:\n        memory: 512Mi\n        cpu: \"2\"\n",
    vmi_head + vmi_domain +
        "    devices:\n      disks:\n      - name: root\n        io: native\n        disk:\n          bus: virtio\n"
        "  volumes:\n  - name: root\n    containerDisk:\n      image: quay.io/x/cirros:latest\n"
        "      imagePullPolicy: IfNotPresent\n",
    vmi_head + vmi_domain +
        "    features:\n      acpi: {}\n    clock:\n      utc: {}\n    ioThreadsPolicy: shared\n    devices:\n      interfaces:\n"
        "      - name: default\n        masquerade: {}\n        ports:\n        - port: 80\n"
        "  networks:\n  - name: default\n    pod: {}\n",
    vmi_head + vmi_domain + "status:\n  phase: Running\n",
};

// VMIs a VMI refuses.
const std::vector<std::string> refused_vmis = {
    vmi_head + vmi_domain + "    devices:\n      gpus:\n      - name: g\n        deviceName: nvidia.com/GP\n",
    vmi_head + vmi_domain + "    launchSecurity:\n      sev: {}\n",
    vmi_head + vmi_domain + "  nodeSelectorr: {}\n",
    vmi_head + "spec:\n  domain:\n    cpu:\n      model: \"a,b\"\n    memory:\n      guest: 256Mi\n",
    vmi_head + "spec:\n  domain:\n    devices: {}\n",
    vmi_head + vmi_domain + "    machine:\n      type: virt\n",
    vmi_head + vmi_domain + "    devices:\n      disks:\n      - name: root\n        disk: {}\n",
};

// The VirtualMachine KubeVirt's controller would make this VMI from: the
// VMI's name and namespace on the VM, the rest of its metadata and its spec
// in the template; status stays at the top.
std::string wrap_in_vm(const std::string& vmi_yaml, const std::string& run_strategy = "Once") {
    const YAML::Node vmi = YAML::Load(vmi_yaml);
    YAML::Node vm;
    vm["apiVersion"] = vmi["apiVersion"];
    vm["kind"] = "VirtualMachine";
    YAML::Node template_metadata;
    for (auto it = vmi["metadata"].begin(); it != vmi["metadata"].end(); ++it) {
        const std::string key = it->first.Scalar();
        if (key == "name" || key == "namespace") {
            vm["metadata"][key] = it->second;
        } else {
            template_metadata[key] = it->second;
        }
    }
    vm["spec"]["runStrategy"] = run_strategy;
    if (template_metadata.size() > 0) vm["spec"]["template"]["metadata"] = template_metadata;
    vm["spec"]["template"]["spec"] = vmi["spec"];
    if (vmi["status"]) vm["status"] = vmi["status"];
    YAML::Emitter out;
    out << vm;
    return std::string(out.c_str()) + "\n";
}

// Where a VMI's field is in the VirtualMachine made from it.
std::string in_template(const std::string& path) {
    if (path.starts_with("spec") || path.starts_with("metadata")) return "spec.template." + path;
    return path;
}

std::vector<Warning> in_template(std::vector<Warning> warnings) {
    for (auto& w : warnings) w.path = in_template(w.path);
    return warnings;
}

// Every field path named in an error message, moved into the template; and
// without the line and column, which differ between the two documents.
std::string error_in_template(const std::string& message) {
    static const std::regex field(R"((^|[ ,'])(spec|metadata)\.)");
    static const std::regex mark(R"( \(line \d+, column \d+\))");
    return std::regex_replace(std::regex_replace(message, mark, ""), field, "$1spec.template.$2.");
}

std::string without_mark(const std::string& message) {
    return std::regex_replace(message, std::regex(R"( \(line \d+, column \d+\))"), "");
}

std::string error_of(const std::string& yaml) {
    try {
        load_vmi(yaml);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "";
}

nlohmann::ordered_json plans_without_warnings(const VmiSpec& spec) {
    nlohmann::ordered_json j;
    for (auto model : {OverheadModel::launcher, OverheadModel::kubevirt}) {
        auto plan = plan_to_json(spec, plan_memory(spec, {model, Accel::tcg, 100, false}));
        plan.erase("warnings");
        j[to_string(model)] = plan;
    }
    return j;
}

bool has_warning(const VmiSpec& spec, const std::string& path, const std::string& text) {
    return std::any_of(spec.warnings.begin(), spec.warnings.end(), [&](const Warning& w) {
        return w.path == path && w.message.find(text) != std::string::npos;
    });
}

}  // namespace

TEST_CASE("a VirtualMachine's template warns and plans exactly as the same VMI") {
    for (const auto& vmi_yaml : warned_vmis) {
        const std::string vm_yaml = wrap_in_vm(vmi_yaml);
        INFO(vmi_yaml);
        INFO(vm_yaml);
        const VmiSpec vmi = load_vmi(vmi_yaml);
        VmiSpec vm;
        REQUIRE_NOTHROW(vm = load_vmi(vm_yaml));
        CHECK_FALSE(vmi.warnings.empty());
        CHECK(vm.warnings == in_template(vmi.warnings));
        CHECK(plans_without_warnings(vm) == plans_without_warnings(vmi));
        CHECK(vm.metadata.labels == vmi.metadata.labels);
        CHECK(vm.metadata.annotations == vmi.metadata.annotations);
    }
}

TEST_CASE("a VirtualMachine's template is refused exactly as the same VMI, at the template's path") {
    for (const auto& vmi_yaml : refused_vmis) {
        const std::string vm_yaml = wrap_in_vm(vmi_yaml);
        INFO(vm_yaml);
        const std::string vmi_error = error_of(vmi_yaml);
        const std::string vm_error = error_of(vm_yaml);
        REQUIRE_FALSE(vmi_error.empty());
        CHECK(vm_error.starts_with("spec.template.spec."));
        CHECK(without_mark(vm_error) == error_in_template(vmi_error));
        // The mark, when the VMI's error has one, is there too.
        CHECK((vmi_error.find("(line ") == std::string::npos) == (vm_error.find("(line ") == std::string::npos));
    }
}

TEST_CASE("kubectl's creationTimestamp: null in a VirtualMachine's template is accepted") {
    const VmiSpec vm = load_vmi(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm1
  creationTimestamp: "2024-01-01T00:00:00Z"
spec:
  runStrategy: Once
  template:
    metadata:
      creationTimestamp: null
      labels:
        kubevirt.io/vm: vm1
    spec:
      domain:
        memory:
          guest: 128Mi
)");
    CHECK(has_warning(vm, "spec.template.metadata.creationTimestamp", "ignored"));
    CHECK(vm.metadata.labels.at("kubevirt.io/vm") == "vm1");
}

TEST_CASE("a template field that is unknown everywhere names the template's path, line and column") {
    const std::string vm = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm1\nspec:\n"
                           "  template:\n    spec:\n      domain:\n        memory:\n          guest: 128Mi\n"
                           "        devices:\n          rngg: {}\n";
    CHECK_THROWS_WITH(load_vmi(vm), "spec.template.spec.domain.devices.rngg: unknown field (in no KubeVirt release); "
                                    "did you mean \"rng\"? (line 12, column 17)");
}

TEST_CASE("a VirtualMachine's run strategy: Once is what the launcher does, the others say how it differs") {
    const std::string vmi = vmi_head + vmi_domain;
    CHECK(load_vmi(wrap_in_vm(vmi, "Once")).warnings.empty());
    CHECK(has_warning(load_vmi(wrap_in_vm(vmi, "Always")), "spec.runStrategy", "restart the launcher"));
    CHECK(has_warning(load_vmi(wrap_in_vm(vmi, "RerunOnFailure")), "spec.runStrategy", "when it fails"));
    CHECK(has_warning(load_vmi(wrap_in_vm(vmi, "Manual")), "spec.runStrategy", "starts the VM now"));
    CHECK(has_warning(load_vmi(wrap_in_vm(vmi, "Halted")), "spec.runStrategy", "asks for a stopped VM"));
    CHECK_THROWS_WITH(load_vmi(wrap_in_vm(vmi, "WaitAsReceiver")),
                      Catch::StartsWith("spec.runStrategy: WaitAsReceiver makes the VM wait for an incoming live "
                                        "migration"));
    CHECK_THROWS_WITH(load_vmi(wrap_in_vm(vmi, "always")),
                      Catch::StartsWith("spec.runStrategy: \"always\" is not a KubeVirt run strategy"));
}

TEST_CASE("a VirtualMachine's running: true is Always, false is Halted, and not both with runStrategy") {
    const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm1\nspec:\n";
    const std::string tmpl = "  template:\n    spec:\n      domain:\n        memory:\n          guest: 128Mi\n";
    CHECK(has_warning(load_vmi(head + "  running: true\n" + tmpl), "spec.running", "restart"));
    CHECK(has_warning(load_vmi(head + "  running: false\n" + tmpl), "spec.running", "asks for a stopped VM"));
    CHECK_THROWS_WITH(load_vmi(head + "  running: maybe\n" + tmpl), Catch::StartsWith("spec.running: must be true or false"));
    CHECK_THROWS_WITH(load_vmi(head + "  running: true\n  runStrategy: Always\n" + tmpl),
                      Catch::StartsWith("spec.running: running and runStrategy are mutually exclusive"));
}

TEST_CASE("a VirtualMachine's dataVolumeTemplates, instancetype and preference are refused with what to do") {
    const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: vm1\nspec:\n";
    const std::string tmpl = "  template:\n    spec:\n      domain:\n        memory:\n          guest: 128Mi\n";
    CHECK_THROWS_WITH(load_vmi(head + "  dataVolumeTemplates:\n  - metadata:\n      name: dv\n" + tmpl),
                      Catch::StartsWith("spec.dataVolumeTemplates: KubeVirt's spec.dataVolumeTemplates is not "
                                        "supported by vmi-launcher") &&
                          Catch::Contains("persistentVolumeClaim") && Catch::Contains("(line 7, column 3)"));
    CHECK_THROWS_WITH(load_vmi(head + "  instancetype:\n    name: u1.small\n" + tmpl),
                      Catch::StartsWith("spec.instancetype: KubeVirt's spec.instancetype is not supported by "
                                        "vmi-launcher: the launcher needs the expanded VMI") &&
                          Catch::Contains("virtctl expand"));
    CHECK_THROWS_WITH(load_vmi(head + "  preference:\n    name: fedora\n" + tmpl),
                      Catch::StartsWith("spec.preference: KubeVirt's spec.preference is not supported by "
                                        "vmi-launcher: the launcher needs the expanded VMI"));
    // Asking for none is not asking.
    CHECK_NOTHROW(load_vmi(head + "  dataVolumeTemplates: []\n  instancetype: null\n" + tmpl));
    CHECK(has_warning(load_vmi(head + "  updateVolumesStrategy: Migration\n" + tmpl), "spec.updateVolumesStrategy",
                      "ignored"));
    // A VMI field at the VirtualMachine's level is not the template's.
    CHECK_THROWS_WITH(load_vmi(head + "  nodeSelector: {}\n" + tmpl),
                      Catch::StartsWith("spec.nodeSelector: unknown field"));
}

TEST_CASE("a VirtualMachine's own metadata and status stay on the VirtualMachine") {
    const VmiSpec vm = load_vmi(R"(apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm1
  namespace: team
  uid: 1111-2222
  labels:
    owner: me
  annotations:
    kubevirt.io/latest-observed-api-version: v1
  generation: 3
spec:
  runStrategy: Once
  template:
    metadata:
      name: other
      labels:
        app: web
    spec:
      domain:
        memory:
          guest: 128Mi
status:
  printableStatus: Stopped
)");
    CHECK(vm.metadata.name == "vm1");
    CHECK(vm.metadata.namespace_name == "team");
    CHECK(vm.metadata.uid.empty());
    CHECK(vm.metadata.labels == std::map<std::string, std::string>{{"app", "web"}});
    CHECK(vm.metadata.annotations.empty());
    CHECK(has_warning(vm, "metadata.labels", "VirtualMachine's own"));
    CHECK(has_warning(vm, "metadata.annotations", "VirtualMachine's own"));
    CHECK(has_warning(vm, "metadata.generation", "ignored"));
    CHECK(has_warning(vm, "spec.template.metadata.name", "VirtualMachine's name"));
    CHECK(has_warning(vm, "status", "ignored"));
}
