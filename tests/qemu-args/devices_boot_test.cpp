// Real QEMU for what KubeVirt does with devices and the clock: the RNG and
// the watchdog are on the machine, the HPET is gone, the RTC starts at the
// offset asked; a shareable disk opens in two VMs at once; a volume without
// a disk and the config drive reach the guest.
#include <catch2/catch.hpp>

#include "integration.hpp"
#include "qemu-args/prepare.hpp"
#include "test_support.hpp"

using namespace qemu_test;

namespace {


// The QOM path of the first /machine/unattached device of this type.
std::string unattached_device(QmpClient& qmp, const std::string& type) {
    for (int i = 0; i < 128; ++i) {
        const std::string path = "/machine/unattached/device[" + std::to_string(i) + "]";
        try {
            if (qmp.execute("qom-get", {{"path", path}, {"property", "type"}}) == type) return path;
        } catch (const std::exception&) {
            break;  // past the last device
        }
    }
    return "";
}

std::string disk_vmi(const std::string& name, bool shareable) {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: " + name +
           "\nspec:\n  domain:\n    memory: {guest: 128Mi}\n    devices:\n      autoattachPodInterface: false\n"
           "      disks:\n      - {name: shared, disk: {}" +
           (shareable ? ", shareable: true" : "") +
           "}\n  volumes:\n  - {name: shared, persistentVolumeClaim: {claimName: shared}}\n";
}

// Starts VM "a" on `image`, and while it holds the image, VM "b" on it
// too, paused: b either fails at once or is still running when its few
// seconds are up (then killed).
VmResult second_vm_on(const std::string& image, bool shareable, const TempDir& dir) {
    qemu_args::SourceOptions sources;
    sources.volumes["shared"] = image;
    const auto a = plan_vmi(disk_vmi("a", shareable), dir.str("state-a"), sources);
    const auto b = plan_vmi(disk_vmi("b", shareable), dir.str("state-b"), sources);
    VmResult second;
    VmRun run;
    run.extra_args = {"-S"};
    run.with_qmp = [&](QmpClient& qmp) {
        VmRun run_b;
        run_b.extra_args = {"-S"};
        run_b.timeout = std::chrono::seconds(4);
        second = run_vm(b.plan, run_b);
        qmp.execute("quit");
    };
    const VmResult first = run_vm(a.plan, run);
    INFO("first VM: " << first.qemu_output);
    CHECK(first.exit_status == 0);
    return second;
}

}  // namespace

TEST_CASE("rng, watchdog, hpet off and the RTC's offset, as QEMU shows them over QMP") {
    TempDir dir;
    const std::string yaml = vmi_yaml(R"(  domain:
    memory: {guest: 128Mi}
    devices:
      autoattachPodInterface: false
      rng: {}
      watchdog: {name: wd, i6300esb: {action: poweroff}}
    clock:
      utc: {offsetSeconds: 90061}
      timer:
        hpet: {present: false}
        rtc: {track: guest}
)");
    const auto p = plan_vmi(yaml, dir.str("state"), {}, 1577934245);  // 2020-01-02T03:04:05Z
    nlohmann::json peripherals, hpet, date;
    VmRun run;
    run.extra_args = {"-S"};  // the virtual clock stands still: the RTC shows its base
    run.with_qmp = [&](QmpClient& qmp) {
        peripherals = qmp.execute("qom-list", {{"path", "/machine/peripheral"}});
        hpet = qmp.execute("qom-get", {{"path", "/machine"}, {"property", "hpet"}});
        const std::string rtc = unattached_device(qmp, "mc146818rtc");
        if (!rtc.empty()) date = qmp.execute("qom-get", {{"path", rtc}, {"property", "date"}});
        qmp.execute("quit");
    };
    const VmResult r = run_vm(p.plan, run);
    INFO("QEMU: " << r.qemu_output << "\nperipherals: " << peripherals.dump() << "\ndate: " << date.dump());
    CHECK(r.exit_status == 0);
    std::map<std::string, std::string> types;
    for (const auto& child : peripherals) types[child["name"]] = child["type"];
    CHECK(types["rng0-dev"] == "child<virtio-rng-pci>");
    CHECK(types["ua-wd"] == "child<i6300esb>");
    CHECK(hpet == false);
    // 2020-01-02T03:04:05 + 1 day, 1 hour, 1 minute, 1 second.
    REQUIRE(date.is_object());
    CHECK(date["tm_year"] == 120);
    CHECK(date["tm_mon"] == 0);
    CHECK(date["tm_mday"] == 3);
    CHECK(date["tm_hour"] == 4);
    CHECK(date["tm_min"] == 5);
    CHECK(date["tm_sec"] == 6);
}

TEST_CASE("a shareable disk opens in a second VM while the first holds it; a plain one is refused by the lock") {
    TempDir dir;
    write(dir.path() / "shared.img", std::string(1 << 20, '\0'));
    const std::string image = dir.str("shared.img");

    const VmResult plain = second_vm_on(image, false, dir);
    INFO("second VM, plain disk: " << plain.qemu_output);
    CHECK_FALSE(plain.timed_out);
    CHECK(plain.exit_status == 1);
    CHECK_THAT(plain.qemu_output, Catch::Contains("Failed to get \"write\" lock"));

    const VmResult shared = second_vm_on(image, true, dir);
    INFO("second VM, shareable disk: " << shared.qemu_output);
    CHECK(shared.timed_out);  // still running, paused, when its time was up
    CHECK_THAT(shared.qemu_output, !Catch::Contains("lock"));
}

TEST_CASE("the guest sees a volume given no disk, and the config drive labelled config-2") {
    TempDir dir;
    write(dir.path() / "data.img", std::string(1 << 20, '\0'));
    qemu_args::SourceOptions sources;
    sources.volumes["data"] = dir.str("data.img");
    const std::string yaml = vmi_yaml("  domain:\n    memory: {guest: 256Mi}\n" + guest_kernel_boot() +
                                      "    devices: {autoattachPodInterface: false}\n"
                                      "  volumes:\n  - {name: data, persistentVolumeClaim: {claimName: data}}\n"
                                      "  - {name: cd, cloudInitConfigDrive: {userData: \"#cloud-config\\n\"}}\n");
    const auto p = plan_vmi(yaml, dir.str("state"), sources);
    const VmResult r = run_vm(p.plan, boot_run());
    INFO("console:\n" << r.console << "\nQEMU:\n" << r.qemu_output);
    CHECK_FALSE(r.timed_out);
    CHECK(has_line(r.console, "VMIL: boot ok"));
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vda label="));  // the data volume, blank
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vdb label=config-2"));
}

TEST_CASE("the config drive ISO holds OpenStack's files under openstack/latest") {
    TempDir dir;
    const std::string state = dir.str("state");
    qemu_args::LaunchPlan plan;
    plan.state_dir = state;
    plan.prepare = {{qemu_args::PrepareStep::Kind::config_drive, state + "/config-2.iso", "", qemu_args::DiskFormat::raw,
                     {}, {{"openstack/latest/meta_data.json", "{\"instance_id\":\"x\"}\n"},
                          {"openstack/latest/user_data", "#cloud-config\nhostname: cd\n"}}}};
    qemu_args::prepare_files(plan);
    std::string listing;
    REQUIRE(qemu_args::run_program({"xorriso", "-indev", state + "/config-2.iso", "-pvd_info", "-find", "/", "-type",
                                    "f"},
                                   listing) == 0);
    INFO(listing);
    CHECK_THAT(listing, Catch::Contains("Volume Id    : config-2"));
    CHECK_THAT(listing, Catch::Contains("'/openstack/latest/meta_data.json'"));
    CHECK_THAT(listing, Catch::Contains("'/openstack/latest/user_data'"));
    std::string extracted;
    REQUIRE(qemu_args::run_program({"osirrox", "-indev", state + "/config-2.iso", "-extract",
                                    "/openstack/latest/user_data", dir.str("user_data")},
                                   extracted) == 0);
    CHECK(test_files::read(dir.path() / "user_data") == "#cloud-config\nhostname: cd\n");
    // Only the ISO is left in the state directory: the scratch folders are gone.
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(state)) left.push_back(e.path().filename().string());
    CHECK(left == std::vector<std::string>{"config-2.iso"});
}
