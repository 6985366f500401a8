// build_launch_plan, disks: node chains, devices on each bus, overlays,
// sparse files, the cloud-init seed, and file names that stay one value.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;
using nlohmann::json;

TEST_CASE("disks on each bus, with bootindex, serial and cache mode") {
    const std::string body = R"(  domain:
    memory: {guest: 256Mi}
    devices:
      disks:
      - {name: root, disk: {bus: virtio}, bootOrder: 1, serial: 'SN-1", "x": "y', cache: none}
      - {name: data, disk: {bus: scsi}, cache: writethrough}
      - {name: iso, cdrom: {bus: sata}, bootOrder: 2}
      - {name: stick, disk: {bus: usb}}
      - {name: old, disk: {bus: sata}}
  volumes:
  - {name: root, persistentVolumeClaim: {claimName: root}}
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: iso, persistentVolumeClaim: {claimName: iso}}
  - {name: stick, persistentVolumeClaim: {claimName: stick}}
  - {name: old, persistentVolumeClaim: {claimName: old}}
)";
    ResolvedSources s;
    s.volumes = {resolved("root", "/v/root.qcow2", DiskFormat::qcow2), resolved("data", "/v/data.img"),
                 resolved("iso", "/v/install.iso"), resolved("stick", "/v/stick.img"), resolved("old", "/v/old.img")};
    const auto argv = build(body, s).argv;

    // Controllers, once each, before the disks that sit on them.
    CHECK(devices(argv, "virtio-scsi-pci") == std::vector<json>{{{"driver", "virtio-scsi-pci"}, {"id", "scsi0"}}});
    CHECK(devices(argv, "qemu-xhci") == std::vector<json>{{{"driver", "qemu-xhci"}, {"id", "usb0"}}});
    CHECK(devices(argv, "ich9-ahci").empty());  // q35 has its own AHCI: buses ide.0 to ide.5

    CHECK(blockdev(argv, "vol0-file") == json{{"driver", "file"}, {"filename", "/v/root.qcow2"}, {"node-name", "vol0-file"},
                                              {"cache", {{"direct", true}, {"no-flush", false}}}});
    CHECK(blockdev(argv, "vol0") == json{{"driver", "qcow2"}, {"file", "vol0-file"}, {"node-name", "vol0"},
                                         {"cache", {{"direct", true}, {"no-flush", false}}}});
    CHECK(devices(argv, "virtio-blk-pci") ==
          std::vector<json>{{{"driver", "virtio-blk-pci"}, {"id", "ua-root"}, {"drive", "vol0"}, {"bootindex", 1},
                             {"serial", "SN-1\", \"x\": \"y"}}});

    CHECK(blockdev(argv, "vol1")["driver"] == "raw");
    CHECK(devices(argv, "scsi-hd") ==
          std::vector<json>{{{"driver", "scsi-hd"}, {"bus", "scsi0.0"}, {"scsi-id", 0}, {"lun", 0}, {"id", "ua-data"},
                             {"drive", "vol1"}, {"write-cache", "off"}}});

    CHECK(blockdev(argv, "vol2")["read-only"] == true);  // a cdrom
    CHECK(blockdev(argv, "vol2-file")["read-only"] == true);
    CHECK(devices(argv, "ide-cd") == std::vector<json>{{{"driver", "ide-cd"}, {"bus", "ide.0"}, {"id", "ua-iso"},
                                                        {"drive", "vol2"}, {"bootindex", 2}}});
    CHECK(devices(argv, "usb-storage") ==
          std::vector<json>{{{"driver", "usb-storage"}, {"bus", "usb0.0"}, {"id", "ua-stick"}, {"drive", "vol3"}}});
    CHECK(devices(argv, "ide-hd") ==
          std::vector<json>{{{"driver", "ide-hd"}, {"bus", "ide.1"}, {"id", "ua-old"}, {"drive", "vol4"}}});
    CHECK_FALSE(blockdev(argv, "vol4").contains("read-only"));
}

TEST_CASE("SATA on an i440fx machine gets an AHCI controller; ide-hd cannot be read-only") {
    ResolvedSources s;
    s.volumes = {resolved("d", "/v/d.img")};
    const std::string volumes = "  volumes:\n  - {name: d, persistentVolumeClaim: {claimName: d}}\n";
    auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    machine: {type: pc}\n    devices:\n      disks:\n"
                      "      - {name: d, disk: {bus: sata}}\n" + volumes, s).argv;
    CHECK(devices(argv, "ich9-ahci") == std::vector<json>{{{"driver", "ich9-ahci"}, {"id", "sata0"}}});
    CHECK(devices(argv, "ide-hd").at(0)["bus"] == "sata0.0");

    const std::string ro = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                           "      - {name: d, disk: {bus: sata, readonly: true}}\n" + volumes;
    CHECK_THAT(build_error(ro, s), Catch::Contains("disk \"d\"") && Catch::Contains("read-only"));
}

TEST_CASE("a cdrom on the virtio bus (2018's API) is a read-only virtio disk") {
    ResolvedSources s;
    s.volumes = {resolved("iso", "/v/x.iso")};
    const auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: iso, cdrom: {bus: virtio}}\n"
                            "  volumes:\n  - {name: iso, persistentVolumeClaim: {claimName: iso}}\n", s).argv;
    CHECK(devices(argv, "virtio-blk-pci").at(0)["drive"] == "vol0");
    CHECK(blockdev(argv, "vol0")["read-only"] == true);
    CHECK(blockdev(argv, "vol0-file")["read-only"] == true);
}

TEST_CASE("a lun: scsi-block on a block device, a SCSI disk with a warning on a file") {
    const std::string body = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                             "      - {name: l, lun: {}}\n"
                             "  volumes:\n  - {name: l, persistentVolumeClaim: {claimName: l}}\n";
    ResolvedSources s;
    s.volumes = {resolved("l", "/dev/sdz")};
    s.volumes[0].block_device = true;
    auto plan = build(body, s);
    CHECK(devices(plan.argv, "scsi-block").size() == 1);
    CHECK(blockdev(plan.argv, "vol0-file")["driver"] == "host_device");
    CHECK(plan.warnings.empty());

    s.volumes[0] = resolved("l", "/v/lun.img");
    plan = build(body, s);
    CHECK(devices(plan.argv, "scsi-block").empty());
    CHECK(devices(plan.argv, "scsi-hd").size() == 1);
    REQUIRE(plan.warnings.size() == 1);
    CHECK_THAT(plan.warnings[0], Catch::Contains("disk \"l\"") && Catch::Contains("/v/lun.img is a file"));
}

TEST_CASE("containerDisk: a qcow2 overlay in the state directory over a read-only base") {
    ResolvedSources s;
    s.volumes = {resolved("root", "/images/fedora/disk/fedora.qcow2", DiskFormat::qcow2)};
    s.volumes[0].needs_overlay = true;
    const auto plan = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: root, disk: {}}\n"
                            "  volumes:\n  - {name: root, containerDisk: {image: fedora}}\n", s);
    CHECK(plan.prepare == std::vector<PrepareStep>{{PrepareStep::Kind::overlay, state + "/root.qcow2",
                                                    "/images/fedora/disk/fedora.qcow2", DiskFormat::qcow2, {}, {}}});
    CHECK(blockdev(plan.argv, "vol0-base-file") == json{{"driver", "file"},
                                                        {"filename", "/images/fedora/disk/fedora.qcow2"},
                                                        {"node-name", "vol0-base-file"},
                                                        {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0-base") ==
          json{{"driver", "qcow2"}, {"file", "vol0-base-file"}, {"node-name", "vol0-base"}, {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0-file")["filename"] == state + "/root.qcow2");
    CHECK(blockdev(plan.argv, "vol0") ==
          json{{"driver", "qcow2"}, {"file", "vol0-file"}, {"node-name", "vol0"}, {"backing", "vol0-base"}});
}

TEST_CASE("emptyDisk in the state directory, hostDisk DiskOrCreate at its path: sparse files") {
    ResolvedSources s;
    ResolvedVolume scratch{"scratch", "", DiskFormat::raw, false, true, vmi::gib(2), false};
    ResolvedVolume host{"host", "/srv/vm/new.img", DiskFormat::raw, false, true, vmi::gib(1), false};
    s.volumes = {scratch, host};
    const auto plan = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: scratch, disk: {}}\n      - {name: host, disk: {}}\n"
                            "  volumes:\n  - {name: scratch, emptyDisk: {capacity: 2Gi}}\n"
                            "  - {name: host, hostDisk: {path: /srv/vm/new.img, type: DiskOrCreate, capacity: 1Gi}}\n",
                            s);
    CHECK(plan.prepare ==
          std::vector<PrepareStep>{{PrepareStep::Kind::sparse_file, state + "/scratch.img", "", DiskFormat::raw, vmi::gib(2), {}},
                                   {PrepareStep::Kind::sparse_file, "/srv/vm/new.img", "", DiskFormat::raw, vmi::gib(1), {}}});
    CHECK(blockdev(plan.argv, "vol0-file")["filename"] == state + "/scratch.img");
    CHECK(blockdev(plan.argv, "vol1-file")["filename"] == "/srv/vm/new.img");
    CHECK(blockdev(plan.argv, "vol1")["driver"] == "raw");
}

TEST_CASE("cloud-init NoCloud: a cidata seed with user-data, meta-data and network-config, read-only") {
    const auto plan = build(R"(  domain:
    memory: {guest: 256Mi}
    devices:
      disks:
      - {name: seed, disk: {bus: virtio}}
  volumes:
  - name: seed
    cloudInitNoCloud:
      userDataBase64: I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogdAo=
      networkData: "version: 2\n"
)");
    REQUIRE(plan.prepare.size() == 1);
    const PrepareStep& seed = plan.prepare[0];
    CHECK(seed.kind == PrepareStep::Kind::cloud_init);
    CHECK(seed.path == state + "/cidata.iso");
    CHECK(seed.files == std::map<std::string, std::string>{
                            {"user-data", "#cloud-config\nhostname: t\n"},
                            {"meta-data", "{\"instance-id\":\"t.default\",\"local-hostname\":\"t\"}\n"},
                            {"network-config", "version: 2\n"}});
    CHECK(blockdev(plan.argv, "vol0-file") == json{{"driver", "file"}, {"filename", state + "/cidata.iso"},
                                                   {"node-name", "vol0-file"}, {"read-only", true}});
    CHECK(blockdev(plan.argv, "vol0")["read-only"] == true);
}

TEST_CASE("a disk file named with commas, equals signs, spaces and quotes is one JSON string") {
    const std::string weird = "/v/a,b=c d'e\"f,file.driver=nbd,server.path=/x.img";
    ResolvedSources s;
    s.volumes = {resolved("w", weird)};
    const auto argv = build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                            "      - {name: w, disk: {}}\n"
                            "  volumes:\n  - {name: w, persistentVolumeClaim: {claimName: w}}\n", s).argv;
    CHECK(blockdev(argv, "vol0-file")["filename"] == weird);
    CHECK(blockdev(argv, "vol0-file").size() == 3);  // driver, filename, node-name: nothing injected
    for (const auto& word : argv) CHECK_FALSE(word == weird);  // never a bare argument
}

TEST_CASE("a volume missing from the resolved sources is a caller's mistake") {
    CHECK_THROWS_AS(build("  domain:\n    memory: {guest: 256Mi}\n    devices:\n      disks:\n"
                          "      - {name: d, disk: {}}\n"
                          "  volumes:\n  - {name: d, persistentVolumeClaim: {claimName: d}}\n"),
                    std::invalid_argument);
}
