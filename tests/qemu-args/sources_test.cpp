// Finding volumes on this machine: mappings first, then the volumes and
// images directories; KubeVirt's /disk rule; format from the header; every
// missing file an error naming the volume and the path.
#include <catch2/catch.hpp>

#include <regex>

#include "qemu-args/sources.hpp"
#include "test_support.hpp"

using namespace qemu_args;
using qemu_test::TempDir;
using qemu_test::write;

namespace {

const std::string qcow2_magic("QFI\xfb\0\0\0\3", 8);

// A VMI whose one disk shows `volume_yaml` (the volume's source, indented for spec.volumes[0]).
vmi::VmiSpec with_volume(const std::string& volume_yaml, const std::string& disk = "disk: {}") {
    return vmi::load_vmi(qemu_test::vmi_yaml("  domain:\n    memory: {guest: 64Mi}\n    devices:\n      disks:\n"
                                             "      - name: vol\n        " +
                                             disk + "\n  volumes:\n  - name: vol\n    " + volume_yaml + "\n"));
}

ResolvedVolume only_volume(const ResolvedSources& r) {
    REQUIRE(r.volumes.size() == 1);
    return r.volumes.front();
}

std::string error_of(const vmi::VmiSpec& spec, const SourceOptions& o) {
    try {
        resolve_sources(spec, o);
    } catch (const vmi::SpecError& e) {
        return e.what();
    }
    FAIL("resolve_sources did not throw");
    return "";
}

}  // namespace

TEST_CASE("the pure helpers: header format, image directory names, NAME=VALUE") {
    CHECK(detect_format(qcow2_magic) == DiskFormat::qcow2);
    CHECK(detect_format("QFI") == DiskFormat::raw);
    CHECK(detect_format("") == DiskFormat::raw);
    CHECK(detect_format(std::string(8, '\0')) == DiskFormat::raw);
    CHECK(to_string(DiskFormat::qcow2) == "qcow2");
    CHECK(to_string(DiskFormat::raw) == "raw");

    CHECK(image_dir_name("quay.io/kubevirt/cirros:latest") == "quay.io_kubevirt_cirros_latest");
    CHECK(image_dir_name("vmi-launcher/test-guest") == "vmi-launcher_test-guest");
    CHECK(image_dir_name("<registry_address>/x@sha256:ab") == "_registry_address__x_sha256_ab");
    CHECK(image_dir_name("..") == "___");
    CHECK(image_dir_name("") == "_");

    CHECK(split_mapping("vol=/a=b,c") == std::pair<std::string, std::string>{"vol", "/a=b,c"});
    CHECK_THROWS_AS(split_mapping("vol"), std::invalid_argument);
    CHECK_THROWS_AS(split_mapping("=/x"), std::invalid_argument);
    CHECK_THROWS_AS(split_mapping("vol="), std::invalid_argument);
}

TEST_CASE("containerDisk: the volume's path inside the image root, or the one file in /disk") {
    TempDir dir;
    const std::string root = dir.str("image");
    std::filesystem::create_directories(root);
    SourceOptions o;
    o.images["example.org/disks/fedora:38"] = root;

    SECTION("the volume's path, relative to the image root even when written absolute") {
        write(dir.path() / "image/custom/fedora.raw", std::string(512, '\0'));
        const auto r = only_volume(resolve_sources(
            with_volume("containerDisk: {image: 'example.org/disks/fedora:38', path: /custom/fedora.raw}"), o));
        CHECK(r.name == "vol");
        CHECK(r.path == root + "/custom/fedora.raw");
        CHECK(r.format == DiskFormat::raw);
        CHECK(r.needs_overlay);  // the base is never written
        CHECK_FALSE(r.create_sparse);
    }
    SECTION("KubeVirt's rule: the single file in <root>/disk") {
        write(dir.path() / "image/disk/anything-at-all", qcow2_magic);
        const auto r = only_volume(resolve_sources(with_volume("containerDisk: {image: 'example.org/disks/fedora:38'}"), o));
        CHECK(r.path == root + "/disk/anything-at-all");
        CHECK(r.format == DiskFormat::qcow2);
        CHECK(r.needs_overlay);
    }
    SECTION("/disk with two files, or none, is an error naming the volume and the directory") {
        write(dir.path() / "image/disk/a.img", "");
        write(dir.path() / "image/disk/b.img", "");
        const std::string two = error_of(with_volume("containerDisk: {image: 'example.org/disks/fedora:38'}"), o);
        CHECK_THAT(two, Catch::Contains("volume \"vol\"") && Catch::Contains(root + "/disk holds 2 files"));
        std::filesystem::remove_all(dir.path() / "image/disk");
        const std::string none = error_of(with_volume("containerDisk: {image: 'example.org/disks/fedora:38'}"), o);
        CHECK_THAT(none, Catch::Contains("volume \"vol\"") && Catch::Contains("no " + root + "/disk directory"));
    }
    SECTION("a path may not leave the image root") {
        const std::string e = error_of(
            with_volume("containerDisk: {image: 'example.org/disks/fedora:38', path: ../../etc/shadow}"), o);
        CHECK_THAT(e, Catch::Contains("volume \"vol\"") && Catch::Contains("must not contain .."));
    }
    SECTION("a missing file names the volume, the path and the line") {
        const std::string e = error_of(
            with_volume("containerDisk: {image: 'example.org/disks/fedora:38', path: /disk/gone.img}"), o);
        CHECK_THAT(e, Catch::StartsWith("spec.volumes[0]: volume \"vol\": no disk file at " + root + "/disk/gone.img") &&
                          Catch::Contains("(line "));
    }
}

TEST_CASE("container images come from --image or the images directory, else an error that says how") {
    TempDir dir;
    write(dir.path() / "images/quay.io_kubevirt_cirros_latest/disk/cirros.img", "raw bytes");
    const auto spec = with_volume("containerDisk: {image: 'quay.io/kubevirt/cirros:latest'}");
    SourceOptions o;
    o.images_dir = dir.str("images");
    CHECK(only_volume(resolve_sources(spec, o)).path == dir.str("images/quay.io_kubevirt_cirros_latest/disk/cirros.img"));

    const std::string unmapped = error_of(spec, SourceOptions{});
    CHECK_THAT(unmapped, Catch::Contains("volume \"vol\"") && Catch::Contains("quay.io/kubevirt/cirros:latest") &&
                             Catch::Contains("--image quay.io/kubevirt/cirros:latest=DIR"));

    o.images_dir = dir.str("elsewhere");
    CHECK_THAT(error_of(spec, o), Catch::Contains(dir.str("elsewhere/quay.io_kubevirt_cirros_latest")) &&
                                      Catch::Contains("does not exist"));
}

TEST_CASE("the format comes from the file's header, never from its name") {
    TempDir dir;
    write(dir.path() / "looks-like.qcow2", std::string(4096, '\0'));
    write(dir.path() / "looks-like.img", qcow2_magic + std::string(100, '\0'));
    write(dir.path() / "empty.img", "");
    const auto spec = with_volume("persistentVolumeClaim: {claimName: data}");
    SourceOptions o;
    o.volumes["vol"] = dir.str("looks-like.qcow2");
    CHECK(only_volume(resolve_sources(spec, o)).format == DiskFormat::raw);
    o.volumes["vol"] = dir.str("looks-like.img");
    CHECK(only_volume(resolve_sources(spec, o)).format == DiskFormat::qcow2);
    o.volumes["vol"] = dir.str("empty.img");
    CHECK(only_volume(resolve_sources(spec, o)).format == DiskFormat::raw);
}

TEST_CASE("PVCs: --volume NAME=PATH or <volumes dir>/NAME, a directory holding disk.img") {
    TempDir dir;
    write(dir.path() / "claims/vol/disk.img", "data");
    write(dir.path() / "my.img", "data");
    const auto spec = with_volume("persistentVolumeClaim: {claimName: data}");
    SourceOptions o;
    o.volumes_dir = dir.str("claims");
    auto r = only_volume(resolve_sources(spec, o));
    CHECK(r.path == dir.str("claims/vol/disk.img"));
    CHECK_FALSE(r.needs_overlay);

    o.volumes["vol"] = dir.str("my.img");  // the mapping wins
    CHECK(only_volume(resolve_sources(spec, o)).path == dir.str("my.img"));
    o.volumes["vol"] = dir.str("claims/vol");
    CHECK(only_volume(resolve_sources(spec, o)).path == dir.str("claims/vol/disk.img"));

    o.volumes["vol"] = dir.str("gone/disk.img");
    CHECK_THAT(error_of(spec, o), Catch::Contains("volume \"vol\": no disk file at " + dir.str("gone/disk.img")));
    CHECK_THAT(error_of(spec, SourceOptions{}),
               Catch::Contains("volume \"vol\"") && Catch::Contains("claim \"data\" is not mapped"));

    // A relative mapping becomes absolute: QEMU never reads it as "protocol:...".
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    o.volumes["vol"] = "my.img";
    CHECK(only_volume(resolve_sources(spec, o)).path == dir.str("my.img"));
    std::filesystem::current_path(cwd);
}

TEST_CASE("an ephemeral PVC is a base under an overlay") {
    TempDir dir;
    write(dir.path() / "base.img", "data");
    SourceOptions o;
    o.volumes["vol"] = dir.str("base.img");
    const auto r = only_volume(resolve_sources(with_volume("ephemeral: {persistentVolumeClaim: {claimName: base}}"), o));
    CHECK(r.needs_overlay);
    CHECK(r.path == dir.str("base.img"));
}

TEST_CASE("hostDisk: its own path on a host, a mapping in a pod; DiskOrCreate makes a sparse file") {
    TempDir dir;
    write(dir.path() / "host/existing.img", qcow2_magic);
    const std::string existing = "hostDisk: {path: " + dir.str("host/existing.img") + ", type: Disk}";
    auto r = only_volume(resolve_sources(with_volume(existing), {}));
    CHECK(r.path == dir.str("host/existing.img"));
    CHECK(r.format == DiskFormat::qcow2);
    CHECK_FALSE(r.create_sparse);

    // In a pod the host directory is mounted elsewhere: the mapping names it.
    write(dir.path() / "mounted/existing.img", "raw");
    SourceOptions o;
    o.volumes["vol"] = dir.str("mounted");
    CHECK(only_volume(resolve_sources(with_volume(existing), o)).path == dir.str("mounted/existing.img"));

    const std::string missing = "hostDisk: {path: " + dir.str("host/missing.img") + ", type: Disk}";
    CHECK_THAT(error_of(with_volume(missing), {}),
               Catch::Contains("volume \"vol\": no disk file at " + dir.str("host/missing.img")));

    const std::string create = "hostDisk: {path: " + dir.str("host/new.img") + ", type: DiskOrCreate, capacity: 1Gi}";
    r = only_volume(resolve_sources(with_volume(create), {}));
    CHECK(r.path == dir.str("host/new.img"));
    CHECK(r.create_sparse);
    CHECK(r.capacity == vmi::gib(1));
    CHECK(r.format == DiskFormat::raw);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "host/new.img"));  // resolving makes nothing

    const std::string no_parent =
        "hostDisk: {path: " + dir.str("nowhere/new.img") + ", type: DiskOrCreate, capacity: 1Gi}";
    CHECK_THAT(error_of(with_volume(no_parent), {}),
               Catch::Contains("volume \"vol\": cannot create " + dir.str("nowhere/new.img")));
}

TEST_CASE("emptyDisk: a sparse file of its capacity, placed by the plan") {
    const auto r = only_volume(resolve_sources(with_volume("emptyDisk: {capacity: 2Gi}"), {}));
    CHECK(r == ResolvedVolume{"vol", "", DiskFormat::raw, false, true, vmi::gib(2), false});
}

TEST_CASE("cloud-init volumes resolve to nothing; a volume without a disk is resolved like any other") {
    const auto seeds = vmi::load_vmi(qemu_test::vmi_yaml(
        "  domain:\n    memory: {guest: 64Mi}\n    devices:\n      disks:\n      - name: seed\n        disk: {}\n"
        "  volumes:\n  - name: seed\n    cloudInitNoCloud: {userData: hi}\n"
        "  - name: drive\n    cloudInitConfigDrive: {userData: hi}\n"));
    CHECK(resolve_sources(seeds, {}) == ResolvedSources{});
    // KubeVirt gives every volume a disk (SetDefaultVolumeDisk): this one is attached, so it must be found.
    const auto spec = vmi::load_vmi(qemu_test::vmi_yaml(
        "  domain:\n    memory: {guest: 64Mi}\n    devices: {}\n"
        "  volumes:\n  - name: unused\n    persistentVolumeClaim: {claimName: nowhere}\n"));
    CHECK_THROWS_WITH(resolve_sources(spec, {}), Catch::Contains("volume \"unused\": claim \"nowhere\" is not mapped"));
}

TEST_CASE("kernelBoot: the kernel and initrd inside their image") {
    TempDir dir;
    write(dir.path() / "guest/boot/vmlinuz", "k");
    write(dir.path() / "guest/boot/initrd.img", "i");
    const std::string yaml = qemu_test::vmi_yaml(
        "  domain:\n    memory: {guest: 64Mi}\n    firmware:\n      kernelBoot:\n        kernelArgs: console=ttyS0\n"
        "        container: {image: test/guest, kernelPath: /boot/vmlinuz, initrdPath: INITRD}\n");
    SourceOptions o;
    o.images["test/guest"] = dir.str("guest");
    auto spec = vmi::load_vmi(std::regex_replace(yaml, std::regex("INITRD"), "/boot/initrd.img"));
    CHECK(resolve_sources(spec, o).kernel ==
          ResolvedKernel{dir.str("guest/boot/vmlinuz"), dir.str("guest/boot/initrd.img")});

    spec = vmi::load_vmi(std::regex_replace(yaml, std::regex("INITRD"), "/boot/gone.img"));
    CHECK_THAT(error_of(spec, o), Catch::Contains("kernelBoot.container") && Catch::Contains("initrdPath") &&
                                      Catch::Contains(dir.str("guest/boot/gone.img")));
}

TEST_CASE("UEFI: OVMF's split images from the ovmf directory, else an error naming the package") {
    TempDir dir;
    const std::string efi = qemu_test::vmi_yaml("  domain:\n    memory: {guest: 64Mi}\n    firmware:\n"
                                                "      bootloader: {efi: {secureBoot: SB}}\n");
    SourceOptions o;
    o.ovmf_dir = dir.str("OVMF");
    const auto plain = vmi::load_vmi(std::regex_replace(efi, std::regex("SB"), "false"));
    const std::string e = error_of(plain, o);
    CHECK_THAT(e, Catch::Contains("spec.domain.firmware.bootloader.efi") && Catch::Contains("ovmf") &&
                      Catch::Contains(dir.str("OVMF/OVMF_CODE_4M.fd")));

    write(dir.path() / "OVMF/OVMF_CODE.fd", "c");
    write(dir.path() / "OVMF/OVMF_VARS.fd", "v");
    CHECK(resolve_sources(plain, o).efi ==
          ResolvedFirmware{dir.str("OVMF/OVMF_CODE.fd"), dir.str("OVMF/OVMF_VARS.fd"), false});
    write(dir.path() / "OVMF/OVMF_CODE_4M.fd", "c");
    write(dir.path() / "OVMF/OVMF_VARS_4M.fd", "v");
    CHECK(resolve_sources(plain, o).efi->code == dir.str("OVMF/OVMF_CODE_4M.fd"));

    const auto secure = vmi::load_vmi(std::regex_replace(efi, std::regex("SB"), "true"));
    CHECK_THROWS_AS(resolve_sources(secure, o), vmi::SpecError);
    write(dir.path() / "OVMF/OVMF_CODE_4M.secboot.fd", "c");
    write(dir.path() / "OVMF/OVMF_VARS_4M.ms.fd", "v");
    CHECK(resolve_sources(secure, o).efi ==
          ResolvedFirmware{dir.str("OVMF/OVMF_CODE_4M.secboot.fd"), dir.str("OVMF/OVMF_VARS_4M.ms.fd"), true});
}
