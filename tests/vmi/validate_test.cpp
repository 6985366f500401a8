// Admission rules and bad input: each refused with a message naming the field.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "error_of.hpp"
#include "test_files.hpp"
#include "vmi/validate.hpp"

namespace {

using test_files::error_of;

const std::string head =
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\nspec:\n  domain:\n";

}  // namespace

TEST_CASE("every file of the bad-input corpus is refused with its expected message") {
    const auto dir = test_files::source_root() / "tests" / "bad-inputs";
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".yaml") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 40);
    for (const auto& f : files) {
        const std::string text = test_files::read(f);
        const std::string marker = "# expect: ";
        REQUIRE(text.starts_with(marker));
        const std::string expect = text.substr(marker.size(), text.find('\n') - marker.size());
        INFO(f.filename().string());
        const std::string message = error_of(text);
        CHECK_THAT(message, Catch::Contains(expect));
        CHECK(message.find('\n') == std::string::npos);
    }
}

TEST_CASE("errors carry the YAML line and column") {
    const std::string text = head + "    memory:\n      guest: 25Gx\n";
    CHECK(error_of(text) ==
          "spec.domain.memory.guest: \"25Gx\" is not a quantity: it is not a quantity (expected a number with an "
          "optional suffix such as Mi, Gi, M or G) (line 8, column 14)");
    CHECK_THAT(error_of("apiVersion: kubevirt.io/v1\nkind: 'VirtualMachineInstance\n"),
               Catch::Contains("YAML syntax error") && Catch::Contains("(line 2"));
}

TEST_CASE("input that is too big, too deep or not text is refused before parsing") {
    CHECK_THAT(error_of(std::string(5 << 20, '#')), Catch::Contains("the limit is 4194304 bytes"));
    CHECK_THAT(error_of("a: " + std::string(1000, '[') + std::string(1000, ']')),
               Catch::Contains("nests deeper than 64 levels"));
    std::string block = "a:\n";
    for (int i = 1; i < 100; ++i) block += std::string(i, ' ') + "b:\n";
    CHECK_THAT(error_of(block), Catch::Contains("nests deeper than 64 levels"));
    CHECK_THAT(error_of(std::string("apiVersion: a\0b\n", 16)), Catch::Contains("control byte 0x00 (line 1, column 14)"));
    CHECK_THAT(error_of("name: \xff\xfe\n"), Catch::Contains("not valid UTF-8: byte 0xff"));
    CHECK_THAT(error_of("\x7f" "ELF\x02\x01\x01"), Catch::Contains("control byte 0x02"));
    CHECK_THAT(error_of(""), Catch::Contains("input is empty"));
    // Aliases that expand without end are caught by the node budget.
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
        laughs += fmt::format("{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n", c, c, char(c - 1),
                              char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1), char(c - 1),
                              char(c - 1), char(c - 1), char(c - 1));
    }
    CHECK_THAT(error_of(laughs), Catch::Contains("input expands to more than 100000 nodes once its aliases are followed"));
}

TEST_CASE("a byte order mark and CRLF line ends are accepted") {
    std::string text = "\xEF\xBB\xBF" + head + "    memory:\n      guest: 1Gi\n";
    std::string crlf;
    for (char c : text) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    CHECK(vmi::load_vmi(crlf).metadata.name == "t");
}

TEST_CASE("DNS-1123 labels") {
    CHECK(vmi::is_dns1123_label("testvm1"));
    CHECK(vmi::is_dns1123_label("a-b-0"));
    CHECK(vmi::is_dns1123_label(std::string(63, 'a')));
    CHECK_FALSE(vmi::is_dns1123_label(std::string(64, 'a')));
    CHECK_FALSE(vmi::is_dns1123_label(""));
    CHECK_FALSE(vmi::is_dns1123_label("-a"));
    CHECK_FALSE(vmi::is_dns1123_label("a-"));
    CHECK_FALSE(vmi::is_dns1123_label("a.b"));
    CHECK_FALSE(vmi::is_dns1123_label("A"));
}

TEST_CASE("KubeVirt's defaults are applied") {
    SECTION("one vCPU, a 30 s grace period, virtio disks, sata CD-ROMs") {
        auto spec = vmi::load_vmi(head +
                                  "    memory:\n      guest: 1Gi\n    devices:\n      disks:\n      - name: a\n"
                                  "        disk: {}\n      - name: b\n        cdrom: {}\n"
                                  "  volumes:\n  - name: a\n    emptyDisk:\n      capacity: 1Gi\n"
                                  "  - name: b\n    containerDisk:\n      image: img\n");
        CHECK(spec.vcpus() == 1);
        CHECK(spec.termination_grace_period_seconds == 30);
        CHECK(spec.domain.devices.disks[0].bus == vmi::DiskBus::virtio);
        CHECK(spec.domain.devices.disks[1].bus == vmi::DiskBus::sata);
        CHECK(spec.domain.devices.disks[1].readonly);
        CHECK(spec.metadata.namespace_name == "default");
    }
    SECTION("without a topology, vCPUs come from the CPU limit, else the request, rounded up") {
        auto limit = vmi::load_vmi(head + "    memory:\n      guest: 1Gi\n    resources:\n      requests:\n"
                                          "        cpu: 500m\n      limits:\n        cpu: 2500m\n");
        CHECK(limit.vcpus() == 3);
        auto request = vmi::load_vmi(head + "    memory:\n      guest: 1Gi\n    resources:\n      requests:\n"
                                            "        cpu: \"2\"\n");
        CHECK(request.vcpus() == 2);
        auto topology = vmi::load_vmi(head + "    cpu:\n      sockets: 2\n      cores: 2\n      threads: 2\n"
                                             "    memory:\n      guest: 1Gi\n    resources:\n      limits:\n"
                                             "        cpu: \"1\"\n");
        CHECK(topology.vcpus() == 8);
    }
}

TEST_CASE("undercommit (guest below request) is valid, as KubeVirt allows since 2020") {
    auto spec = vmi::load_vmi(head + "    memory:\n      guest: 1Gi\n    resources:\n      requests:\n        memory: 2Gi\n");
    CHECK(spec.domain.memory.guest->value.text() == "1Gi");
}

TEST_CASE("what QEMU cannot attach is refused by validate, not first by the plan") {
    const auto with_devices = [](const std::string& devices, const std::string& rest = "") {
        return error_of(head + "    memory: {guest: 256Mi}\n    devices:\n" + devices + rest);
    };
    std::string seven = "      disks:\n";
    std::string volumes = "  volumes:\n";
    for (int i = 0; i < 7; ++i) {
        seven += fmt::format("      - {{name: d{}, disk: {{bus: sata}}}}\n", i);
        volumes += fmt::format("  - {{name: d{}, emptyDisk: {{capacity: 1Gi}}}}\n", i);
    }
    CHECK_THAT(with_devices(seven, volumes),
               Catch::StartsWith("spec.domain.devices.disks[6]: disk \"d6\": more than 6 disks on the sata bus"));
    CHECK_THAT(with_devices("      disks:\n      - {name: c, cdrom: {bus: usb}}\n",
                            "  volumes:\n  - {name: c, emptyDisk: {capacity: 1Gi}}\n"),
               Catch::Contains("disk \"c\": a cdrom cannot be on the usb bus"));
    CHECK_THAT(with_devices("      disks:\n      - {name: r, disk: {bus: sata, readonly: true}}\n",
                            "  volumes:\n  - {name: r, emptyDisk: {capacity: 1Gi}}\n"),
               Catch::Contains("disk \"r\": QEMU's SATA disk (ide-hd) cannot be read-only"));
    CHECK_THAT(with_devices("      disks:\n      - {name: r, disk: {bus: sata}}\n",
                            "  volumes:\n  - {name: r, persistentVolumeClaim: {claimName: r, readOnly: true}}\n"),
               Catch::Contains("cannot be read-only"));
    // The launcher's own seed on sata is attached writable, with a warning from the plan.
    CHECK(with_devices("      disks:\n      - {name: s, disk: {bus: sata}}\n",
                       "  volumes:\n  - {name: s, cloudInitNoCloud: {userData: x}}\n")
              .empty());

    const std::string net = "  networks:\n  - {name: default, pod: {}}\n";
    CHECK_THAT(with_devices("      interfaces:\n      - {name: default, masquerade: {}, model: 'virtio,romfile=/x'}\n", net),
               Catch::Contains("interface \"default\": \"virtio,romfile=/x\" is not a model QEMU 7.2 offers"));
    CHECK_THAT(with_devices("      interfaces:\n      - {name: default, masquerade: {}, macAddress: '02:00:00:aa:bb'}\n",
                            net),
               Catch::Contains("\"02:00:00:aa:bb\" is not a MAC address"));
    CHECK_THAT(error_of(head + "    memory: {guest: 256Mi}\n    cpu: {model: 'qemu64,+vmx'}\n"),
               Catch::StartsWith("spec.domain.cpu.model: \"qemu64,+vmx\" is not a CPU model name"));
}
