// Admission rules and bad input: each refused with a message naming the field.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "test_files.hpp"
#include "vmi/validate.hpp"

namespace {

std::string error_of(const std::string& text) {
    try {
        vmi::load_vmi(text);
    } catch (const vmi::SpecError& e) {
        return e.what();
    }
    return "";
}

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
