// Paths built from names stay inside their directory, whatever validation
// let through: specs here are built by hand, not validated, so a name like
// "../x" reaches resolve_sources and build_launch_plan directly; symbolic
// links inside an image, a claim or the volumes directory are followed and
// refused when they lead out.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include "plan_test_support.hpp"
#include "qemu-args/prepare.hpp"
#include "qemu-args/sources.hpp"

using namespace qemu_test;
namespace fs = std::filesystem;

namespace {

// A spec with one disk and its volume named `name`, never validated.
vmi::VmiSpec unvalidated(const std::string& name, vmi::VolumeSource source) {
    vmi::VmiSpec spec = vmi::load_vmi(vmi_yaml(small));
    vmi::Disk d;
    d.name = name;
    d.bus = vmi::DiskBus::virtio;
    spec.domain.devices.disks.push_back(d);
    vmi::Volume v;
    v.name = name;
    v.source = std::move(source);
    spec.volumes.push_back(v);
    return spec;
}

std::string resolve_error(const vmi::VmiSpec& spec, const SourceOptions& o) {
    try {
        resolve_sources(spec, o);
    } catch (const vmi::SpecError& e) {
        return e.what();
    }
    return "";
}

vmi::PersistentVolumeClaimSource claim() { return {"c", false, false}; }

}  // namespace

TEST_CASE("entry_path and is_within: the pure rules") {
    CHECK(entry_path("/v", "disk") == "/v/disk");
    CHECK(entry_path("/v/", "disk") == "/v/disk");
    for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs"}) {
        INFO(bad);
        CHECK_FALSE(entry_path("/v", bad));
    }
    CHECK_FALSE(entry_path("/v", std::string_view("a\0b", 3)));
    CHECK(is_within("/a/b", "/a/b"));
    CHECK(is_within("/a/b", "/a/b/c"));
    CHECK(is_within("/a/b/", "/a/b/c"));
    CHECK_FALSE(is_within("/a/b", "/a/bc"));
    CHECK_FALSE(is_within("/a/b", "/a"));
    CHECK(is_within("/", "/etc"));
}

TEST_CASE("a volume name cannot leave the volumes directory, validated or not") {
    TempDir dir;
    const std::string volumes = dir.str("volumes");
    fs::create_directories(volumes);
    write(dir.path() / "hostsecret.txt", "secret");
    SourceOptions o;
    o.volumes_dir = volumes;

    // The case: before, QEMU was handed <dir>/hostsecret.txt read-write.
    CHECK_THAT(resolve_error(unvalidated("../hostsecret.txt", claim()), o),
               Catch::Contains("volume \"../hostsecret.txt\": the name cannot name an entry of the volumes directory"));
    CHECK_THAT(resolve_error(unvalidated("..", claim()), o), Catch::Contains("cannot name an entry"));

    // A link in the volumes directory that leads out of it.
    fs::create_symlink(dir.path() / "hostsecret.txt", fs::path(volumes) / "data");
    CHECK_THAT(resolve_error(unvalidated("data", claim()), o),
               Catch::Contains("volume \"data\": " + volumes + "/data leads to " + dir.str("hostsecret.txt") +
                               ", outside " + fs::canonical(volumes).string()));

    // A claim's disk.img that links out of the claim (the claim's contents are the VM owner's).
    fs::create_directories(fs::path(volumes) / "pvc");
    fs::create_symlink(dir.path() / "hostsecret.txt", fs::path(volumes) / "pvc" / "disk.img");
    CHECK_THAT(resolve_error(unvalidated("pvc", claim()), o), Catch::Contains("pvc/disk.img leads to"));

    // A link that stays inside is fine.
    write(fs::path(volumes) / "real.img", std::string(512, '\0'));
    fs::create_symlink("real.img", fs::path(volumes) / "alias");
    CHECK(resolve_sources(unvalidated("alias", claim()), o).volumes.at(0).path == volumes + "/alias");
}

TEST_CASE("files inside a container image cannot link out of the image") {
    TempDir dir;
    write(dir.path() / "secret.img", std::string(512, '\0'));
    const std::string images = dir.str("images");
    const std::string root = images + "/" + image_dir_name("example.org/disk:1");
    fs::create_directories(root + "/disk");
    SourceOptions o;
    o.images_dir = images;

    fs::create_symlink(dir.path() / "secret.img", root + "/disk/disk.img");
    const auto spec = unvalidated("d", vmi::ContainerDiskSource{"example.org/disk:1", "", false});
    CHECK_THAT(resolve_error(spec, o), Catch::Contains("disk/disk.img leads to " + dir.str("secret.img")));

    const auto by_path = unvalidated("d", vmi::ContainerDiskSource{"example.org/disk:1", "/disk/disk.img", false});
    CHECK_THAT(resolve_error(by_path, o), Catch::Contains("leads to " + dir.str("secret.img")));

    // The image's directory itself may not be a link out of the images directory.
    fs::create_directories(dir.path() / "elsewhere");
    fs::create_symlink(dir.path() / "elsewhere", images + "/" + image_dir_name("example.org/other:1"));
    const auto other = unvalidated("d", vmi::ContainerDiskSource{"example.org/other:1", "/x.img", false});
    CHECK_THAT(resolve_error(other, o), Catch::Contains("leads to " + dir.str("elsewhere")));
}

TEST_CASE("two images that share a directory under the images directory are refused") {
    CHECK(image_dir_clash({"a/b:c", "x", "a/b:c"}) == std::nullopt);
    CHECK(image_dir_clash({"a/b:c", "a_b:c"}) == std::pair<std::string, std::string>{"a/b:c", "a_b:c"});

    TempDir dir;
    SourceOptions o;
    o.images_dir = dir.str();
    vmi::VmiSpec spec = unvalidated("one", vmi::ContainerDiskSource{"reg/a:b", "/d.img", false});
    const vmi::VmiSpec two = unvalidated("two", vmi::ContainerDiskSource{"reg/a_b", "/d.img", false});
    spec.domain.devices.disks.push_back(two.domain.devices.disks.at(0));
    spec.volumes.push_back(two.volumes.at(0));
    CHECK_THAT(resolve_error(spec, o), Catch::Contains("images \"reg/a:b\" and \"reg/a_b\" would share the directory"));
    // Mapped explicitly, they do not clash.
    o.images["reg/a_b"] = dir.str("elsewhere");
    CHECK_THAT(resolve_error(spec, o), !Catch::Contains("would share"));
}

TEST_CASE("the plan refuses a volume name that could leave the state directory") {
    for (const char* bad : {"../../etc/x", "a/b", "..", "Volume", "vol_0"}) {
        INFO(bad);
        const auto spec = unvalidated(bad, vmi::EmptyDiskSource{{*vmi::Quantity::try_parse("1Gi"), {}}});
        ResolvedSources s;
        ResolvedVolume r;
        r.name = bad;
        r.create_sparse = true;
        r.capacity = vmi::gib(1);
        s.volumes.push_back(r);
        CHECK_THROWS_WITH(build_launch_plan(spec, memory_of(spec, vmi::Accel::tcg), s, options()),
                          Catch::Contains("is not a DNS-1123 label: it cannot name a file in the state directory"));
    }
}

TEST_CASE("prepare never writes through a link or outside the state directory") {
    TempDir dir;
    const std::string state_dir = dir.str("state");
    fs::create_directories(state_dir);
    write(dir.path() / "victim", "keep");
    fs::create_symlink(dir.path() / "victim", fs::path(state_dir) / "data.img");

    LaunchPlan plan;
    plan.state_dir = state_dir;
    plan.prepare.push_back({PrepareStep::Kind::sparse_file, state_dir + "/data.img", "", DiskFormat::raw, vmi::mib(1), {}});
    CHECK_THROWS_WITH(prepare_files(plan), Catch::Contains("exists and is not a regular file"));
    CHECK(fs::file_size(dir.path() / "victim") == 4);

    plan.prepare = {{PrepareStep::Kind::sparse_file, state_dir + "/../escape.img", "", DiskFormat::raw, vmi::mib(1), {}}};
    CHECK_THROWS_WITH(prepare_files(plan), Catch::Contains("is not a plain file name in the state directory"));
    CHECK_FALSE(fs::exists(dir.path() / "escape.img"));

    // A sparse file elsewhere (a hostDisk DiskOrCreate at its own path) is still made.
    plan.prepare = {{PrepareStep::Kind::sparse_file, dir.str("host.img"), "", DiskFormat::raw, vmi::mib(1), {}}};
    prepare_files(plan);
    CHECK(fs::file_size(dir.path() / "host.img") == (1u << 20));
}
