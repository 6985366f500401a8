// Object names in rendered Pods: the validator (pod_names.cpp) refuses what
// kube-apiserver refuses, and every Pod the launcher renders, for every
// example and test manifest under each variant of the pod command's
// options, passes it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "../launcher/run_command.hpp"
#include "../vmi/test_files.hpp"
#include "pod_names.hpp"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

json valid_pod() {
    return json::parse(R"({
      "apiVersion": "v1", "kind": "Pod",
      "metadata": {"name": "vmi-launcher-vm1", "namespace": "default",
                   "labels": {"app.kubernetes.io/name": "vmi-launcher", "vmi-launcher/vmi": "vm1"},
                   "annotations": {"vmi-launcher/vmi": "default/vm1"}},
      "spec": {
        "hostname": "vm1",
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
        "volumes": [{"name": "vmi", "configMap": {"name": "vmi-launcher-vm1-vmi"}},
                    {"name": "volume-disk0", "persistentVolumeClaim": {"claimName": "disk0"}},
                    {"name": "volume-disk1", "persistentVolumeClaim": {"claimName": "disk1"}}],
        "containers": [{"name": "compute",
                        "ports": [{"name": "http", "containerPort": 80}],
                        "resources": {"requests": {"cpu": "1", "memory": "1Gi", "hugepages-2Mi": "1Gi"},
                                      "limits": {"devices.kubevirt.io/kvm": "1"}},
                        "volumeMounts": [{"name": "vmi", "mountPath": "/etc/vmi"},
                                         {"name": "volume-disk0", "mountPath": "/v/disk0"}],
                        "volumeDevices": [{"name": "volume-disk1", "devicePath": "/v/disk1"}]}]}
    })");
}

std::vector<fs::path> manifests() {
    std::vector<fs::path> out;
    for (const auto* dir : {"examples", "tests/pod/manifests"}) {
        for (const auto& e : fs::directory_iterator(test_files::source_root() / dir)) {
            if (e.path().extension() == ".yaml") out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("pod names: the validator takes a valid Pod and refuses each name kube-apiserver refuses") {
    CHECK(pod_names::problems(valid_pod()).empty());
    const std::vector<std::pair<std::string, std::function<void(json&)>>> breakages = {
        {"volume-vmi-shared_disk", [](json& p) { p["spec"]["volumes"][1]["name"] = "volume-vmi-shared_disk"; }},
        {"volume name of 64 characters", [](json& p) { p["spec"]["volumes"][0]["name"] = std::string(64, 'v'); }},
        {"volume used twice", [](json& p) { p["spec"]["volumes"][2]["name"] = "volume-disk0"; }},
        {"mount of no volume", [](json& p) { p["spec"]["containers"][0]["volumeMounts"][0]["name"] = "nosuch"; }},
        {"device of a configMap", [](json& p) { p["spec"]["containers"][0]["volumeDevices"][0]["name"] = "vmi"; }},
        {"device path that is a mount path",
         [](json& p) { p["spec"]["containers"][0]["volumeDevices"][0]["devicePath"] = "/v/disk0"; }},
        {"container name in capitals", [](json& p) { p["spec"]["containers"][0]["name"] = "Compute"; }},
        {"port name of 16 characters",
         [](json& p) { p["spec"]["containers"][0]["ports"][0]["name"] = "port-name-longer"; }},
        {"port name with --", [](json& p) { p["spec"]["containers"][0]["ports"][0]["name"] = "a--b"; }},
        {"port name of digits", [](json& p) { p["spec"]["containers"][0]["ports"][0]["name"] = "8080"; }},
        {"pod name with _", [](json& p) { p["metadata"]["name"] = "vmi-launcher-vm_1"; }},
        {"namespace with .", [](json& p) { p["metadata"]["namespace"] = "a.b"; }},
        {"label key with a space", [](json& p) { p["metadata"]["labels"]["app name"] = "x"; }},
        {"label value of 64", [](json& p) { p["metadata"]["labels"]["app"] = std::string(64, 'a'); }},
        {"annotation key with two /", [](json& p) { p["metadata"]["annotations"]["a/b/c"] = "x"; }},
        {"annotation prefix in capitals", [](json& p) { p["metadata"]["annotations"]["Example.com/x"] = "x"; }},
        {"hostname with a dot", [](json& p) { p["spec"]["hostname"] = "vm1.example"; }},
        {"node selector value with /", [](json& p) { p["spec"]["nodeSelector"]["disk"] = "a/b"; }},
        {"resource name with two /",
         [](json& p) { p["spec"]["containers"][0]["resources"]["limits"]["a/b/c"] = "1"; }},
        {"configMap name with _", [](json& p) { p["spec"]["volumes"][0]["configMap"]["name"] = "vmi_cm"; }},
        {"claim name in capitals",
         [](json& p) { p["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"] = "Disk0"; }},
    };
    for (const auto& [what, break_it] : breakages) {
        INFO(what);
        json pod = valid_pod();
        break_it(pod);
        CHECK_FALSE(pod_names::problems(pod).empty());
    }
}

TEST_CASE("pod names: every rendered Pod and ConfigMap has valid names, under every variant") {
    const std::vector<std::vector<std::string>> variants = {
        {},
        {"--accel", "tcg"},
        {"--memory-limit", "cgroup"},
        {"--memory-limit", "ceiling"},
        {"--cgroup-mode", "nested", "--kubevirt-node-labels"},
        {"--overhead-model", "kubevirt", "--memory-overcommit", "150"},
        {"--volume-mode", "rootdisk=block", "--volume-mode", "golden=block"},
    };
    int rendered = 0;
    for (const auto& path : manifests()) {
        for (const auto& variant : variants) {
            std::vector<std::string> argv{test_cmd::launcher(), "pod", path.string(), "-o", "json",
                                          "--with-configmap"};
            argv.insert(argv.end(), variant.begin(), variant.end());
            const auto r = test_cmd::run(argv);
            std::string options;
            for (const auto& a : variant) options += " " + a;
            INFO(path.filename().string() << options);
            INFO(r.err);
            const bool only_claims = variant.size() > 1 && variant[0] == "--volume-mode";
            const bool pinned_ceiling = variant.size() > 1 && variant[1] == "ceiling" &&
                                        (path.filename() == "dedicated.yaml" || path.filename() == "hugepages-1g.yaml");
            if ((only_claims && path.filename() != "claims.yaml") || pinned_ceiling) {
                CHECK(r.status == 2);  // no such claim; a Guaranteed pod cannot have a ceiling
                continue;
            }
            REQUIRE(r.status == 0);
            const auto found = pod_names::problems(json::parse(r.out));
            for (const auto& p : found) UNSCOPED_INFO(p);
            CHECK(found.empty());
            ++rendered;
        }
    }
    CHECK(rendered >= 60);
}
