// Examples are executable documentation: each one's QEMU command line is
// the golden examples/NAME.argv.json (UPDATE_GOLDEN=1 rewrites them after a
// reviewed change).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "golden.hpp"

TEST_CASE("every example's argv matches its golden file") {
    const auto dir = test_files::source_root() / "examples";
    int checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto& path = e.path();
        if (path.extension() != ".yaml") continue;
        INFO(path.filename().string());
        const auto plan = qemu_test::golden_plan(test_files::read(path));
        const std::string actual = qemu_test::golden_text(plan.argv);
        auto golden = path;
        golden.replace_extension(".argv.json");
        if (std::getenv("UPDATE_GOLDEN")) std::ofstream(golden) << actual;
        REQUIRE(std::filesystem::exists(golden));
        CHECK(test_files::read(golden) == actual);
        ++checked;
    }
    CHECK(checked >= 5);
}

TEST_CASE("the seed's registryDisk resolves through --image to a qcow2 base under an overlay") {
    const auto plan =
        qemu_test::golden_plan(test_files::read(test_files::source_root() / "examples/seed-overcommit.yaml"));
    REQUIRE(plan.prepare.size() == 2);
    CHECK(plan.prepare[0].kind == qemu_args::PrepareStep::Kind::overlay);
    CHECK(plan.prepare[0].path == "/run/vmi-launcher/kubevirt/testvm1/myvolume.qcow2");
    CHECK(plan.prepare[0].source ==
          qemu_test::fixture("images/fedora-cloud-registry-disk-demo/disk/fedora-cloud.qcow2"));
    CHECK(plan.prepare[0].source_format == qemu_args::DiskFormat::qcow2);
    CHECK(plan.prepare[1].kind == qemu_args::PrepareStep::Kind::cloud_init);
    CHECK(plan.prepare[1].files.at("user-data").starts_with("#cloud-config\nhostname: testvm1\n"));
}
