// What the rendered Pod may touch on the node: a hostDisk never mounts a
// system directory, an existing host disk is mounted as its one file, every
// emptyDir has a sizeLimit that covers what it holds, and names stay valid
// pod object names.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "launcher/pod_render.hpp"
#include "vmi/quantity.hpp"
#include "vmi/validate.hpp"

using namespace launcher;
using json = nlohmann::ordered_json;

namespace {

std::string vmi_text(const std::string& volumes, const std::string& disks) {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\nspec:\n  domain:\n"
           "    memory: {guest: 256Mi}\n    devices:\n      disks:\n" +
           disks + "  volumes:\n" + volumes;
}

// One disk `d` on a volume with this source.
std::string one_volume(const std::string& source) {
    return vmi_text("  - name: d\n    " + source + "\n", "      - {name: d, disk: {}}\n");
}

json render(const std::string& text, const PodOptions& options = {}) {
    const auto spec = vmi::load_vmi(text);
    vmi::PlanOptions p;
    p.accel = vmi::Accel::kvm;
    p.launcher_in_cgroup = true;
    return render_pod(spec, vmi::plan_memory(spec, p), text, options).pod;
}

std::string render_error(const std::string& text) {
    try {
        render(text);
    } catch (const vmi::SpecError& e) {
        return e.what();
    } catch (const std::runtime_error& e) {
        return std::string("runtime_error: ") + e.what();
    }
    FAIL("render_pod did not refuse");
    return "";
}

const json& volume(const json& pod, const std::string& name) {
    for (const auto& v : pod["spec"]["volumes"]) {
        if (v["name"] == name) return v;
    }
    FAIL("no volume " << name);
    static const json none;
    return none;
}

std::uint64_t size_limit(const json& pod, const std::string& name) {
    const json& v = volume(pod, name);
    REQUIRE(v["emptyDir"].contains("sizeLimit"));
    const auto q = vmi::Quantity::try_parse(v["emptyDir"]["sizeLimit"].get<std::string>());
    REQUIRE(q);
    return q->bytes()->value;
}

}  // namespace

TEST_CASE("a hostDisk in the node's root or a system directory is refused") {
    // The case: the directory of /disk.img is /, once mounted read-write.
    CHECK(render_error(one_volume("hostDisk: {path: /disk.img, type: Disk}")) ==
          "spec.volumes[0].hostDisk.path: \"/disk.img\" lies in the node's root directory: the pod would mount it "
          "read-write; keep disks in a directory of their own (such as /var/lib/vmi-disks) (line 12, column 5)");
    for (const char* path : {"/etc/d.img", "/etc/ssh/d.img", "/usr/d.img", "/proc/d", "/sys/d", "/dev/sda", "/boot/d.img",
                             "/var/run/d.img", "/run/d.img", "/var/lib/kubelet/pods/d.img", "/root/d.img"}) {
        INFO(path);
        CHECK_THAT(render_error(one_volume(fmt::format("hostDisk: {{path: '{}', type: Disk}}", path))),
                   Catch::Contains("a system directory of the node: the pod would mount it read-write"));
    }
    // DiskOrCreate mounts the directory: it may not hold a system directory either.
    CHECK_THAT(render_error(one_volume("hostDisk: {path: /var/d.img, type: DiskOrCreate, capacity: 1Gi}")),
               Catch::Contains("is to be created in /var, which holds /var/lib/containerd"));
    CHECK_THAT(render_error(one_volume("hostDisk: {path: /d.img, type: DiskOrCreate, capacity: 1Gi}")),
               Catch::Contains("lies in the node's root directory"));
    // A look-alike is not a system directory.
    CHECK_NOTHROW(render(one_volume("hostDisk: {path: /etcetera/d.img, type: Disk}")));
}

TEST_CASE("an existing host disk is mounted as its one file; DiskOrCreate as its own directory") {
    const json pod = render(one_volume("hostDisk: {path: /var/lib/vmi-disks/d.img, type: Disk}"));
    CHECK(volume(pod, "volume-d") ==
          json{{"name", "volume-d"}, {"hostPath", {{"path", "/var/lib/vmi-disks/d.img"}, {"type", "File"}}}});
    const json created = render(one_volume("hostDisk: {path: /var/lib/vmi-disks/d.img, type: DiskOrCreate, capacity: 1Gi}"));
    CHECK(volume(created, "volume-d") ==
          json{{"name", "volume-d"}, {"hostPath", {{"path", "/var/lib/vmi-disks"}, {"type", "DirectoryOrCreate"}}}});
}

TEST_CASE("every emptyDir has a sizeLimit covering what it holds") {
    // No disks: the state directory's fixed files (console log 2 x 8 MiB and the rest).
    const json bare = render(vmi_text("  []\n", "      []\n"));
    CHECK(size_limit(bare, "state") == 32u << 20);
    CHECK(size_limit(bare, "tmp") == 64u << 20);
    for (const auto& v : bare["spec"]["volumes"]) {
        if (v.contains("emptyDir")) CHECK(v["emptyDir"].contains("sizeLimit"));
    }

    // An emptyDisk at its capacity (in whole MiB), each overlay at the allowance;
    // the images at the per-image allowance, the tools for busybox.
    const std::string text = vmi_text(
        "  - {name: e, emptyDisk: {capacity: 1536Mi}}\n"
        "  - {name: c, containerDisk: {image: example.org/c:1}}\n"
        "  - {name: p, ephemeral: {persistentVolumeClaim: {claimName: p}}}\n"
        "  - {name: q, persistentVolumeClaim: {claimName: q}}\n",
        "      - {name: e, disk: {}}\n      - {name: c, disk: {}}\n      - {name: p, disk: {}}\n"
        "      - {name: q, disk: {}}\n");
    PodOptions o;
    o.overlay_size = vmi::gib(3);
    o.image_size = vmi::gib(5);
    const json pod = render(text, o);
    CHECK(size_limit(pod, "state") == (32ull << 20) + (1536ull << 20) + 2 * (3ull << 30));
    CHECK(size_limit(pod, "images") == 5ull << 30);
    CHECK(size_limit(pod, "tools") == 16u << 20);
    CHECK(volume(pod, "state")["emptyDir"]["sizeLimit"] == "7712Mi");
}

TEST_CASE("a pod volume's name stays a DNS-1123 label") {
    const std::string long_name(57, 'a');
    const std::string text = vmi_text("  - name: " + long_name + "\n    persistentVolumeClaim: {claimName: c}\n",
                                      "      - {name: " + long_name + ", disk: {}}\n");
    CHECK_THAT(render_error(text), Catch::StartsWith("spec.volumes[0].name: \"" + long_name + "\" cannot name a pod volume") &&
                                       Catch::Contains("so this volume's name has at most 56"));
    const std::string ok(56, 'a');
    CHECK_NOTHROW(render(vmi_text("  - name: " + ok + "\n    persistentVolumeClaim: {claimName: c}\n",
                                  "      - {name: " + ok + ", disk: {}}\n")));
}

TEST_CASE("two images that would be copied to one directory are refused") {
    const std::string text = vmi_text(
        "  - {name: a, containerDisk: {image: 'reg/a:b'}}\n  - {name: b, containerDisk: {image: 'reg/a_b'}}\n",
        "      - {name: a, disk: {}}\n      - {name: b, disk: {}}\n");
    CHECK_THAT(render_error(text), Catch::Contains("images \"reg/a:b\" and \"reg/a_b\" would be copied to the same "
                                                   "directory /var/run/vmi-launcher/images/reg_a_b"));
}
