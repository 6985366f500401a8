// prepare_files against the real tools: overlays (qemu-img), sparse files,
// the cidata seed (xorrisofs), private copies; nothing left after a failure;
// a missing volume stops everything before any file is made.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "integration.hpp"
#include "qemu-args/prepare.hpp"
#include "test_support.hpp"

using namespace qemu_test;
using qemu_args::PrepareStep;

namespace {

nlohmann::json image_info(const std::string& path) {
    std::string out;
    REQUIRE(qemu_args::run_program({"qemu-img", "info", "--output=json", "--force-share", path}, out) == 0);
    return nlohmann::json::parse(out);
}

qemu_args::LaunchPlan plan_with(const std::string& state, std::vector<PrepareStep> steps) {
    qemu_args::LaunchPlan plan;
    plan.state_dir = state;
    plan.prepare = std::move(steps);
    return plan;
}

}  // namespace

TEST_CASE("prepare_files makes overlays, sparse files, the seed and copies in a private state directory") {
    TempDir dir;
    write(dir.path() / "base, one.img", std::string(1 << 20, 'b'));
    write(dir.path() / "vars.fd", "variables");
    write(dir.path() / "keep.img", "existing data");
    const std::string state = dir.str("deep/state");
    const auto plan = plan_with(
        state, {
                   {PrepareStep::Kind::overlay, state + "/root.qcow2", dir.str("base, one.img"),
                    qemu_args::DiskFormat::raw, {}, {}},
                   {PrepareStep::Kind::sparse_file, state + "/scratch.img", "", qemu_args::DiskFormat::raw, vmi::gib(3), {}},
                   {PrepareStep::Kind::sparse_file, dir.str("keep.img"), "", qemu_args::DiskFormat::raw, vmi::gib(1), {}},
                   {PrepareStep::Kind::cloud_init, state + "/cidata.iso", "", qemu_args::DiskFormat::raw, {},
                    {{"user-data", "#cloud-config\nhostname: prepared\n"}, {"meta-data", "{}\n"}}},
                   {PrepareStep::Kind::copy_file, state + "/efi-vars.fd", dir.str("vars.fd"), qemu_args::DiskFormat::raw, {}, {}},
               });
    qemu_args::prepare_files(plan);

    struct stat st {};
    REQUIRE(::stat(state.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    const auto info = image_info(state + "/root.qcow2");
    CHECK(info["format"] == "qcow2");
    CHECK(info["backing-filename"] == dir.str("base, one.img"));
    CHECK(info["backing-filename-format"] == "raw");
    CHECK(info["virtual-size"] == 1 << 20);

    REQUIRE(::stat((state + "/scratch.img").c_str(), &st) == 0);
    CHECK(st.st_size == 3LL << 30);
    CHECK(st.st_blocks * 512 < (1 << 20));  // sparse: nothing allocated
    CHECK(test_files::read(dir.path() / "keep.img") == "existing data");  // an existing disk is kept

    const std::string iso = test_files::read(state + "/cidata.iso");
    CHECK(iso.substr(0x8028, 6) == "cidata");  // the primary volume descriptor's volume id
    CHECK(iso.find("hostname: prepared") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(state + "/cidata.iso.d"));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(state)) ++entries;
    CHECK(entries == 4);  // no temporary directory left

    CHECK(test_files::read(state + "/efi-vars.fd") == "variables");
    write(state + "/efi-vars.fd", "changed by the guest");
    qemu_args::prepare_files(plan);  // again: overlay and seed afresh, disks and variables kept
    CHECK(test_files::read(state + "/efi-vars.fd") == "changed by the guest");
}

TEST_CASE("a failing step names itself and the path and takes back everything made") {
    TempDir dir;
    const std::string state = dir.str("made/state");
    const auto plan = plan_with(
        state, {
                   {PrepareStep::Kind::cloud_init, state + "/cidata.iso", "", qemu_args::DiskFormat::raw, {},
                    {{"user-data", "x"}}},
                   {PrepareStep::Kind::sparse_file, state + "/scratch.img", "", qemu_args::DiskFormat::raw, vmi::mib(1), {}},
                   {PrepareStep::Kind::overlay, state + "/root.qcow2", dir.str("gone.img"), qemu_args::DiskFormat::raw, {}, {}},
               });
    try {
        qemu_args::prepare_files(plan);
        FAIL("prepare_files did not throw");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::StartsWith("prepare overlay " + state + "/root.qcow2: qemu-img exited with status 1") &&
                                 Catch::Contains(dir.str("gone.img")));
    }
    CHECK_FALSE(std::filesystem::exists(dir.path() / "made"));
}

TEST_CASE("a missing volume file fails before anything starts and leaves nothing behind") {
    TempDir dir;
    const std::string yaml = vmi_yaml("  domain:\n    memory: {guest: 256Mi}\n" + guest_kernel_boot() +
                                      "    devices:\n      disks:\n"
                                      "      - {name: seed, disk: {}}\n      - {name: data, disk: {}}\n"
                                      "  volumes:\n  - {name: seed, cloudInitNoCloud: {userData: x}}\n"
                                      "  - {name: data, persistentVolumeClaim: {claimName: data}}\n");
    qemu_args::SourceOptions sources;
    sources.volumes_dir = dir.str("claims");
    try {
        plan_vmi(yaml, dir.str("state"), sources);
        FAIL("planning did not throw");
    } catch (const vmi::SpecError& e) {
        CHECK_THAT(e.what(), Catch::Contains("volume \"data\": no disk file at " + dir.str("claims/data")));
    }
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
    CHECK(std::filesystem::is_empty(dir.path()));
}
