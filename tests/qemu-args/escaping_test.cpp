// What reaches QEMU is what the VMI and the options said, no more: a disk
// file and a state directory named with commas, equals signs, spaces and
// quotes; QMP on the passed descriptor; UEFI pflash nodes.
#include <catch2/catch.hpp>

#include "integration.hpp"
#include "qemu-args/prepare.hpp"
#include "test_support.hpp"

using namespace qemu_test;

TEST_CASE("a disk file named a,b=c d\"e'f.img reaches QEMU and the guest as that one file") {
    TempDir dir;
    // An ISO labelled ESCAPED, so the guest can say it saw this very file.
    const std::string weird = dir.str("vol,x=y z/a,b=c d\"e'f,file.driver=nbd.img");
    write(dir.path() / "iso/hello", "from the weird file\n");
    std::filesystem::create_directories(std::filesystem::path(weird).parent_path());
    std::string out;
    REQUIRE(qemu_args::run_program({"xorrisofs", "-quiet", "-output", weird, "-volid", "ESCAPED", "-rock",
                                    dir.str("iso")},
                                   out) == 0);
    const std::string yaml = vmi_yaml("  domain:\n    memory: {guest: 256Mi}\n" + guest_kernel_boot() +
                                      "    devices:\n      autoattachPodInterface: false\n      disks:\n"
                                      "      - {name: weird, disk: {bus: virtio}}\n"
                                      "  volumes:\n  - {name: weird, persistentVolumeClaim: {claimName: w}}\n");
    qemu_args::SourceOptions sources;
    sources.volumes["weird"] = weird;
    // The state directory too: the sockets and the console log live there.
    const std::string state = dir.str("st,id=x,path=tmp d\"'");
    const auto p = plan_vmi(yaml, state, sources);

    VmRun run = boot_run();
    run.extra_args.push_back("-S");  // look before the guest runs
    nlohmann::json blocks, chardevs;
    run.with_qmp = [&](QmpClient& qmp) {
        blocks = qmp.execute("query-block");
        chardevs = qmp.execute("query-chardev");
        qmp.execute("cont");
    };
    const VmResult r = run_vm(p.plan, run);
    INFO("console:\n" << r.console << "\nQEMU:\n" << r.qemu_output << "\nquery-block: " << blocks.dump(2));
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_status == 0);

    // Exactly one block device, on exactly that file, writable as asked.
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0]["qdev"] == "/machine/peripheral/ua-weird/virtio-backend");
    CHECK(blocks[0]["inserted"]["file"] == weird);
    CHECK(blocks[0]["inserted"]["image"]["filename"] == weird);
    CHECK(blocks[0]["inserted"]["ro"] == false);
    // The console chardev is the passed socket, connected from the start;
    // no path of the state directory reaches it.
    bool console_found = false;
    for (const auto& c : chardevs) {
        if (c["label"] == "serial0") {
            console_found = true;
            CHECK(c["frontend-open"] == true);
            CHECK_THAT(c["filename"].get<std::string>(), !Catch::Contains(state));
        }
    }
    CHECK(console_found);
    // The log went to that directory, and the guest read the file.
    CHECK(r.console_log_existed);
    CHECK(has_line(r.console, "VMIL: blockdev /dev/vda label=ESCAPED"));
    CHECK(console_section(r.console, "file hello") == "from the weird file\n");
    // Nothing was created next to the state directory by a split path.
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"iso", "vol,x=y z"});
}

TEST_CASE("UEFI: QEMU maps the OVMF code read-only and the VM's own variables as pflash") {
    // Stand-in firmware (zeros): the CPUs never run (-S), QEMU only wires it up.
    TempDir dir;
    write(dir.path() / "OVMF/OVMF_CODE_4M.fd", std::string(2 << 20, '\0'));
    write(dir.path() / "OVMF/OVMF_VARS_4M.fd", std::string(128 << 10, '\0'));
    qemu_args::SourceOptions sources;
    sources.ovmf_dir = dir.str("OVMF");
    const auto p = plan_vmi(vmi_yaml("  domain:\n    memory: {guest: 128Mi}\n    firmware:\n"
                                     "      bootloader: {efi: {secureBoot: false}}\n"),
                            dir.str("state"), sources);
    VmRun run;
    run.extra_args = {"-S"};
    nlohmann::json blocks;
    bool vars_copied = false;
    run.with_qmp = [&](QmpClient& qmp) {
        blocks = qmp.execute("query-named-block-nodes");
        vars_copied = std::filesystem::file_size(dir.path() / "state/efi-vars.fd") == (128 << 10);
        qmp.execute("quit");
    };
    const VmResult r = run_vm(p.plan, run);
    INFO("QEMU:\n" << r.qemu_output << "\nnodes: " << blocks.dump(2));
    CHECK(r.exit_status == 0);
    CHECK(vars_copied);
    std::map<std::string, nlohmann::json> nodes;
    for (const auto& n : blocks) nodes[n["node-name"]] = n;
    REQUIRE(nodes.contains("efi-code"));
    REQUIRE(nodes.contains("efi-vars"));
    CHECK(nodes["efi-code"]["ro"] == true);
    CHECK(nodes["efi-code"]["file"] == dir.str("OVMF/OVMF_CODE_4M.fd"));
    CHECK(nodes["efi-vars"]["ro"] == false);
    CHECK(nodes["efi-vars"]["file"] == dir.str("state/efi-vars.fd"));
}
