// The bounds of vmi/limits.hpp: names that become paths, the size of the
// YAML tree, metadata, and the numeric maxima. Each refusal names the field
// and the limit; each limit is tested at its boundary.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "error_of.hpp"
#include "test_files.hpp"
#include "vmi/limits.hpp"
#include "vmi/validate.hpp"

namespace {

using test_files::error_of;

std::string vmi_with(const std::string& metadata_extra, const std::string& spec_extra,
                     const std::string& domain_extra = "") {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\n" + metadata_extra +
           "spec:\n  domain:\n    memory: {guest: 64Mi}\n" + domain_extra + spec_extra;
}

// One disk and its volume, both called `name`, with `source` as the volume's source.
std::string with_disk(const std::string& name, const std::string& source = "emptyDisk: {capacity: 1Gi}") {
    return vmi_with("", fmt::format("  volumes:\n  - name: '{}'\n    {}\n", name, source),
                    fmt::format("    devices:\n      disks:\n      - name: '{}'\n        disk: {{}}\n", name));
}

std::string list_of(std::size_t n) {
    std::string out = "[";
    for (std::size_t i = 0; i < n; ++i) out += i ? ",0" : "0";
    return out + "]";
}

}  // namespace

TEST_CASE("disk and volume names must be DNS-1123 labels: they become file and pod volume names") {
    CHECK(error_of(with_disk("../../hostsecret.txt")) ==
          "spec.volumes[0].name: \"../../hostsecret.txt\" is not a DNS-1123 label: use at most 63 lowercase letters, "
          "digits and '-', starting and ending with a letter or digit (line 13, column 11)");
    // KubeVirt's own example of a refused disk name.
    CHECK_THAT(error_of(with_disk("vmi-shared_disk")),
               Catch::StartsWith("spec.volumes[0].name: \"vmi-shared_disk\" is not a DNS-1123 label"));
    for (const char* bad : {"Disk", "-disk", "disk-", "a.b", "a/b", "..", "."}) {
        INFO(bad);
        CHECK_THAT(error_of(with_disk(bad)), Catch::Contains("is not a DNS-1123 label"));
    }
    CHECK_THAT(error_of(with_disk(std::string(64, 'a'))), Catch::Contains("is not a DNS-1123 label"));
    CHECK(error_of(with_disk(std::string(63, 'a'))).empty());
    CHECK(error_of(with_disk("disk-0")).empty());

    // The disk's own name is checked too (a disk may name a volume that is absent).
    const std::string disk_only =
        vmi_with("", "  volumes:\n  - name: ok\n    emptyDisk: {capacity: 1Gi}\n",
                 "    devices:\n      disks:\n      - name: ../x\n        disk: {}\n");
    CHECK_THAT(error_of(disk_only), Catch::StartsWith("spec.domain.devices.disks[0].name: \"../x\" is not a DNS-1123"));
    // 2018's volumeName is the name that counts, and the one reported.
    const std::string legacy =
        vmi_with("", "  volumes:\n  - name: ok\n    emptyDisk: {capacity: 1Gi}\n",
                 "    devices:\n      disks:\n      - name: ok\n        volumeName: ../ok\n        disk: {}\n");
    CHECK_THAT(error_of(legacy), Catch::StartsWith("spec.domain.devices.disks[0].volumeName: \"../ok\""));
}

TEST_CASE("claim names are DNS-1123 subdomains; host disk paths have no '.', '..' or empty parts") {
    CHECK_THAT(error_of(with_disk("d", "persistentVolumeClaim: {claimName: '../x'}")),
               Catch::StartsWith("spec.volumes[0].persistentVolumeClaim.claimName: \"../x\" is not a claim name"));
    CHECK_THAT(error_of(with_disk("d", "ephemeral: {persistentVolumeClaim: {claimName: 'A'}}")),
               Catch::StartsWith("spec.volumes[0].ephemeral.persistentVolumeClaim.claimName: \"A\""));
    CHECK(error_of(with_disk("d", "persistentVolumeClaim: {claimName: my.claim-1}")).empty());
    for (const char* bad : {"/var/../etc/shadow", "/a/./b.img", "/a//b.img", "/a/b/", "/.."}) {
        INFO(bad);
        CHECK_THAT(error_of(with_disk("d", fmt::format("hostDisk: {{path: '{}', type: Disk}}", bad))),
                   Catch::StartsWith("spec.volumes[0].hostDisk.path: \"") &&
                       Catch::Contains("must name a file by a plain absolute path"));
    }
    CHECK(error_of(with_disk("d", "hostDisk: {path: /var/lib/disks/d.img, type: Disk}")).empty());
}

TEST_CASE("the YAML tree is bounded before it is built: nodes, list items, mapping keys") {
    // A list of exactly the limit is read; one more item is refused, naming the list.
    const std::string at_limit = vmi_with("  annotations: {}\n", "  x-list: " + list_of(vmi::limits::list_items) + "\n");
    CHECK_THAT(error_of(at_limit), Catch::Contains("spec.x-list: unknown field"));
    const std::string over = vmi_with("", "  x-list: " + list_of(vmi::limits::list_items + 1) + "\n");
    CHECK_THAT(error_of(over), Catch::StartsWith("spec.x-list: a list of more than 1000 items, the limit (line 8"));

    // The case: 50000 disks are refused at the list, not as "aliases?".
    std::string disks = "    devices:\n      disks:\n";
    for (int i = 0; i < 50000; ++i) disks += "      - {name: d, disk: {}}\n";
    CHECK_THAT(error_of(vmi_with("", "", disks)),
               Catch::StartsWith("spec.domain.devices.disks: a list of more than 1000 items, the limit"));

    std::string keys = "  labels:\n";
    for (std::size_t i = 0; i <= vmi::limits::map_keys; ++i) keys += fmt::format("    k{}: v\n", i);
    CHECK_THAT(error_of(vmi_with(keys, "")),
               Catch::StartsWith("metadata.labels: a mapping of more than 1000 keys, the limit"));

    // Many lists below the item limit: the node count, whatever the shape.
    std::string nested = "  x-many:\n";
    for (int i = 0; i < 30; ++i) {
        nested += fmt::format("    k{}: {}\n", i, list_of(999));
    }
    CHECK_THAT(error_of(vmi_with("", nested)), Catch::StartsWith("input has more than 20000 YAML nodes, the limit (line"));
}

TEST_CASE("aliases cannot expand the tree beyond the walk's bound") {
    std::string text = vmi_with("", "");
    text += "x-a: &a " + list_of(900) + "\n";
    text += "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n";
    text += "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    text += "x-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    CHECK_THAT(error_of(text), Catch::Contains("input expands to more than 100000 nodes once its aliases are followed"));
}

TEST_CASE("labels and annotations are bounded in number and size") {
    std::string labels = "  labels:\n";
    for (std::size_t i = 0; i < vmi::limits::labels; ++i) labels += fmt::format("    k{}: v\n", i);
    CHECK(error_of(vmi_with(labels, "")).empty());
    labels += "    one-more: v\n";
    CHECK(error_of(vmi_with(labels, "")) == "metadata.labels: 257 labels; the limit is 256");

    CHECK(error_of(vmi_with("  labels: {k: '" + std::string(63, 'v') + "'}\n", "")).empty());
    CHECK(error_of(vmi_with("  labels: {k: '" + std::string(64, 'v') + "'}\n", "")) ==
          "metadata.labels.k: the value is 64 bytes; a label value has at most 63");
    CHECK_THAT(error_of(vmi_with("  labels: {'" + std::string(318, 'k') + "': v}\n", "")),
               Catch::StartsWith("metadata.labels: label key \"kkkk") && Catch::EndsWith("is 318 bytes; a key has 1 to 317"));

    const std::string big(vmi::limits::annotation_bytes - 1, 'a');
    CHECK(error_of(vmi_with("  annotations: {k: '" + big + "'}\n", "")).empty());
    CHECK(error_of(vmi_with("  annotations: {k: '" + big + "a'}\n", "")) ==
          "metadata.annotations: keys and values total 262145 bytes; the limit is 262144 (Kubernetes' own)");
}

TEST_CASE("warnings about unknown fields are capped, with a count of the rest") {
    std::string unknown;
    for (int i = 0; i < 500; ++i) unknown += fmt::format("x-f{}: x\n", i);
    const auto spec = vmi::load_vmi(vmi_with("", "") + unknown);
    REQUIRE(spec.warnings.size() == vmi::limits::warnings + 1);
    CHECK(spec.warnings.back().text() == "400 more warnings not shown");
}

TEST_CASE("CPU quantities have a maximum: the issue's 9223372036854775 is refused, not overflowed") {
    const auto cpu = [](const std::string& request) {
        return error_of(vmi_with("", "", "    resources:\n      requests:\n        cpu: '" + request + "'\n"));
    };
    CHECK(cpu("9223372036854775") ==
          "spec.domain.resources.requests.cpu: '9223372036854775' is too large: the most is 4096 CPUs (line 10, column 14)");
    CHECK_THAT(cpu("4097"), Catch::Contains("is too large: the most is 4096 CPUs"));
    CHECK_THAT(cpu("4096001m"), Catch::Contains("is too large"));
    // 4096 CPUs is a valid request (with a topology of its own, the vCPUs stay few).
    const std::string at_max = vmi_with(
        "", "", "    cpu: {cores: 2}\n    resources:\n      requests:\n        cpu: '4096'\n");
    CHECK(error_of(at_max).empty());
    // As a limit without topology it asks for 4096 vCPUs: refused as such.
    CHECK_THAT(error_of(vmi_with("", "", "    resources:\n      limits:\n        cpu: '4096'\n")),
               Catch::Contains("asks for 4096 vCPUs; the most is 288"));
}

TEST_CASE("memory quantities and disk capacities have maxima") {
    const auto guest = [](const std::string& q) {
        return error_of("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\nspec:\n"
                        "  domain:\n    memory: {guest: '" + q + "'}\n");
    };
    CHECK(guest("16Ti").empty());
    CHECK(guest("17592186044417") ==
          "spec.domain.memory.guest: '17592186044417' is too large: the most is 16Ti (line 7, column 21)");
    CHECK_THAT(guest("8Ei"), Catch::Contains("is too large: the most is 16Ti"));
    const std::string max_guest = vmi_with("", "", "").replace(
        vmi_with("", "", "").find("{guest: 64Mi}"), 13, "{guest: 64Mi, maxGuest: 17Ti}");
    CHECK_THAT(error_of(max_guest), Catch::StartsWith("spec.domain.memory.maxGuest: '17Ti' is too large"));
    CHECK(error_of(with_disk("d", "emptyDisk: {capacity: 1Pi}")).empty());
    CHECK_THAT(error_of(with_disk("d", "emptyDisk: {capacity: 1025Ti}")),
               Catch::StartsWith("spec.volumes[0].emptyDisk.capacity: '1025Ti' is too large: the most is 1Pi"));
    CHECK_THAT(error_of(with_disk("d", "hostDisk: {path: /d/x.img, type: DiskOrCreate, capacity: 2Pi}")),
               Catch::Contains("'2Pi' is too large: the most is 1Pi"));
}

TEST_CASE("Bytes arithmetic is checked: no wrap-around in either direction") {
    using vmi::Bytes;
    constexpr std::uint64_t max = ~std::uint64_t{0};
    CHECK((Bytes{max - 1} + Bytes{1}).value == max);
    CHECK_THROWS_AS(Bytes{max} + Bytes{1}, std::overflow_error);
    CHECK_THROWS_WITH(Bytes{max} + Bytes{1}, "byte count overflow: 18446744073709551615 + 1 is more than 2^64 - 1");
    Bytes b{max};
    CHECK_THROWS_AS(b += Bytes{1}, std::overflow_error);
    CHECK((Bytes{5} - Bytes{5}).value == 0);
    CHECK_THROWS_AS(Bytes{4} - Bytes{5}, std::underflow_error);
    CHECK_THROWS_WITH(Bytes{4} - Bytes{5}, "byte count underflow: 4 - 5 is below zero");
    CHECK(vmi::times(3, Bytes{max / 3}).value == max / 3 * 3);
    CHECK_THROWS_AS(vmi::times(2, Bytes{max / 2 + 1}), std::overflow_error);
    CHECK(vmi::gib(std::uint64_t{1} << 33).value == std::uint64_t{1} << 63);
    CHECK_THROWS_AS(vmi::gib(std::uint64_t{1} << 34), std::overflow_error);
    CHECK(vmi::round_up(Bytes{max - 1023}, 1024).value == max - 1023);
    CHECK_THROWS_AS(vmi::round_up(Bytes{max - 1022}, 1024), std::overflow_error);
}
