// README.md's "KubeVirt API coverage" table is the generator's output, so it
// cannot drift from the field policy. To refresh it after changing the policy:
//   build/vmi/vmi-fields --update-readme README.md
#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "vmi/field_table.hpp"

using namespace vmi;

TEST_CASE("README's KubeVirt API coverage table is the one the field policy generates") {
    const std::string readme = test_files::read(test_files::source_root() / "README.md");
    const std::string table = field_table_markdown();
    const std::string expected = with_field_table(readme, table);
    INFO("README.md lacks the table's markers, or its table is stale: run "
         "build/vmi/vmi-fields --update-readme README.md");
    REQUIRE_FALSE(expected.empty());
    CHECK(readme == expected);
}

TEST_CASE("the coverage table lists each handling and the annotations") {
    const std::string table = field_table_markdown();
    CHECK_THAT(table, Catch::Contains("| `spec.domain.cpu`: `sockets`, `cores`, `threads`, `model`, "
                                      "`dedicatedCpuPlacement`, `isolateEmulatorThread` | acted on | |"));
    CHECK_THAT(table, Catch::Contains("| `spec.networks.genie` | refused | CNI-Genie networks left KubeVirt in v0.29"));
    CHECK_THAT(table, Catch::Contains("| `spec.domain.devices.video` | warned, ignored | ignored: the VM has no display |"));
    CHECK_THAT(table, Catch::Contains("| VirtualMachine `spec.instancetype` | refused |"));
    CHECK_THAT(table, Catch::Contains("| annotation `smbios.vm.kubevirt.io/*` | warned, ignored |"));
    // Replacing keeps what is around the markers.
    const std::string doc = std::string("before\n") + std::string(field_table_begin) + "\nold\n" +
                            std::string(field_table_end) + "\nafter\n";
    CHECK(with_field_table(doc, "new\n") ==
          "before\n" + std::string(field_table_begin) + "\nnew\n" + std::string(field_table_end) + "\nafter\n");
    CHECK(with_field_table("no markers", "x").empty());
}
