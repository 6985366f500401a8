// Real QEMU (TCG) booting the test guest from a LaunchPlan: the tiny
// example, guest memory against -m, the seed's overcommit shape, cloud-init.
#include <catch2/catch.hpp>

#include "integration.hpp"
#include "test_support.hpp"

using namespace qemu_test;

namespace {

// The guest kernel keeps part of RAM for itself (struct pages, its image,
// reserved areas): measured here 87% of -m at 256 MiB, 92% at 512 MiB, 95%
// at 1 GiB. The bound: -m - 5% of -m - 32 MiB <= MemTotal <= -m.
void check_mem_total(std::uint64_t mem_total_kb, vmi::Bytes guest) {
    const std::uint64_t m_kb = guest.value / 1024;
    INFO("MemTotal " << mem_total_kb << " kB for -m " << m_kb << " kB (" << 100 * mem_total_kb / m_kb << "%)");
    CHECK(mem_total_kb <= m_kb);
    CHECK(mem_total_kb >= m_kb - m_kb / 20 - 32 * 1024);
}

void check_booted(const VmResult& r) {
    INFO("console:\n" << r.console << "\nQEMU:\n" << r.qemu_output);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 0);
    CHECK(r.console_log_existed);
    CHECK(has_line(r.console, "VMIL: boot ok"));
    CHECK(has_line(r.console, "VMIL: poweroff"));
}

}  // namespace

TEST_CASE("the tiny example boots: console log, the cidata seed with user-data, 256Mi of memory") {
    TempDir dir;
    const auto p = plan_vmi(test_files::read(test_files::source_root() / "examples/tiny.yaml"), dir.str("state"));
    const VmResult r = run_vm(p.plan, boot_run());
    WARN("tiny: QEMU ran " << r.seconds << " s");
    check_booted(r);
    INFO("console:\n" << r.console);
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vda label=cidata"));
    CHECK(console_section(r.console, "file user-data") == "#cloud-config\nhostname: tiny\n");
    CHECK(console_section(r.console, "file meta-data") ==
          "{\"instance-id\":\"tiny.default\",\"local-hostname\":\"tiny\"}\n");
    REQUIRE(p.memory.guest == vmi::mib(256));
    check_mem_total(mem_total_kb(r.console), p.memory.guest);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));  // the harness cleaned up
}

TEST_CASE("the guest's MemTotal follows -m for 512Mi and 1Gi guests") {
    for (const std::string guest : {"512Mi", "1Gi"}) {
        INFO(guest);
        TempDir dir;
        const auto p = plan_vmi(vmi_yaml("  domain:\n    memory: {guest: " + guest + "}\n" + guest_kernel_boot() +
                                         "    devices: {autoattachPodInterface: false}\n"),
                                dir.str("state"));
        const VmResult r = run_vm(p.plan, boot_run());
        WARN(guest << ": QEMU ran " << r.seconds << " s, MemTotal " << mem_total_kb(r.console) << " kB");
        check_booted(r);
        check_mem_total(mem_total_kb(r.console), p.memory.guest);
    }
}

TEST_CASE("the seed's overcommit shape, scaled down: QEMU gets memory.guest, not the request") {
    // examples/seed-overcommit.yaml with 320Mi for the guest and 256Mi requested,
    // its registryDisk in a local image root, and the test guest's kernel.
    TempDir dir;
    write(dir.path() / "images/fedora/disk/fedora.img", std::string(1 << 20, '\0'));
    const std::string yaml = R"(apiVersion: kubevirt.io/v1alpha2
kind: VirtualMachineInstance
metadata:
  name: testvm1
  namespace: kubevirt
spec:
  domain:
    memory:
      guest: 320Mi
    resources:
      requests:
        memory: 256Mi
      overcommitGuestOverhead: true
)" + guest_kernel_boot() + R"(    devices:
      disks:
      - volumeName: myvolume
        name: mydisk
        disk:
          bus: virtio
      - name: cloudinitdisk
        volumeName: cloudinitvolume
        cdrom:
          bus: virtio
  volumes:
  - name: myvolume
    registryDisk:
      image: <registry_address>/kubevirt/fedora-cloud-registry-disk-demo:latest
  - cloudInitNoCloud:
      userData: |
        #cloud-config
        hostname: testvm1
    name: cloudinitvolume
)";
    qemu_args::SourceOptions sources;
    sources.images["<registry_address>/kubevirt/fedora-cloud-registry-disk-demo:latest"] = dir.str("images/fedora");
    const auto p = plan_vmi(yaml, dir.str("state"), sources);
    REQUIRE(p.memory.guest == vmi::mib(320));
    REQUIRE(p.memory.request == vmi::mib(256));
    REQUIRE(p.memory.commitment == vmi::Commitment::overcommit);
    CHECK(value_of(p.plan.argv, "-m") == std::to_string(vmi::mib(320).value) + "B");

    const VmResult r = run_vm(p.plan, boot_run());
    WARN("seed shape: QEMU ran " << r.seconds << " s, MemTotal " << mem_total_kb(r.console) << " kB");
    check_booted(r);
    INFO("console:\n" << r.console);
    check_mem_total(mem_total_kb(r.console), p.memory.guest);
    // MemTotal never exceeds -m: above 256 MiB, only a -m above the request shows.
    CHECK(mem_total_kb(r.console) > 256 * 1024);
    // The registryDisk through its overlay (empty: no label), the seed as a read-only virtio disk.
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vda label="));
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vdb label=cidata"));
    CHECK(console_section(r.console, "file user-data") == "#cloud-config\nhostname: testvm1\n");
    // The base was only read.
    CHECK(test_files::read(dir.path() / "images/fedora/disk/fedora.img") == std::string(1 << 20, '\0'));
}
