// What the launcher needs to start QEMU, decided entirely in the plan layer:
// the argv, the files to prepare in the state directory, and the file
// descriptors the child must hold at fixed numbers when it execs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vmi/memory_plan.hpp"
#include "vmi/spec.hpp"

namespace qemu_args {

// Each of the two console log files (FILE, FILE.1) holds at most this much.
inline constexpr std::uint64_t default_console_log_max_bytes = 8u << 20;

// Where volumes and images come from on this host or in this pod.
struct SourceOptions {
    std::map<std::string, std::string> volumes;  // --volume NAME=PATH
    std::map<std::string, std::string> images;   // --image REF=DIR (an unpacked image root)
    std::string volumes_dir;                     // PVCs and host disks by name, when not in `volumes`
    std::string images_dir;                      // image roots by reference, when not in `images`
    std::string ovmf_dir = "/usr/share/OVMF";    // UEFI firmware (Debian's ovmf package)
};

enum class DiskFormat { raw, qcow2 };

// A disk's source once found on this machine (resolve_sources).
struct ResolvedVolume {
    std::string name;
    std::string path;           // the file QEMU opens (a base for containerDisk)
    DiskFormat format = DiskFormat::raw;  // from the file's header, never its name
    bool needs_overlay = false; // containerDisk/registryDisk: never written
    bool create_sparse = false; // emptyDisk, hostDisk DiskOrCreate
    std::optional<vmi::Bytes> capacity;
    bool block_device = false;  // a block device rather than a regular file
    bool operator==(const ResolvedVolume&) const = default;
};

struct ResolvedKernel {
    std::string kernel;  // host path
    std::string initrd;  // host path, empty when none
    bool operator==(const ResolvedKernel&) const = default;
};

// UEFI firmware for bootloader.efi: the code QEMU maps read-only and the
// template each VM copies its own variable store from.
struct ResolvedFirmware {
    std::string code;
    std::string vars_template;
    bool secure_boot = false;
    bool operator==(const ResolvedFirmware&) const = default;
};

struct ResolvedSources {
    std::vector<ResolvedVolume> volumes;  // cloud-init volumes are not here
    std::optional<ResolvedKernel> kernel;
    std::optional<ResolvedFirmware> efi;
    bool operator==(const ResolvedSources&) const = default;
};

struct LaunchOptions {
    std::string qemu_binary = "qemu-system-x86_64";
    std::string state_dir;  // per VM: sockets, logs, overlays, cloud-init seed
    vmi::Accel accel = vmi::Accel::tcg;
    // Tap devices for bridge interfaces: interface name -> fd number the launcher passes.
    std::map<std::string, int> tap_fds;
    // hugetlbfs mounts guest RAM comes from when the VMI asks for huge pages.
    std::string hugepages_2m_dir = "/dev/hugepages";
    std::string hugepages_1g_dir = "/dev/hugepages-1G";
    // Where the serial console's output is kept; empty: <state_dir>/console.log
    // (removed with the state directory).
    std::string console_log;
    // The console log rotates at this size: FILE and FILE.1 hold at most twice this.
    std::uint64_t console_log_max_bytes = default_console_log_max_bytes;
    // The wall clock (seconds since the epoch) when the plan is made; needed
    // only for clock.utc.offsetSeconds (the RTC starts at this + offset).
    std::optional<std::int64_t> wall_clock_seconds;
    // The IPv4 address interfaces[].ports are forwarded from (QEMU 7.2's
    // user-mode networking forwards IPv4 only). Loopback by default, so a VM
    // on a workstation is not opened to the network; 0.0.0.0 in a pod, where
    // the pod's address must reach the guest as in KubeVirt.
    std::string forward_address = "127.0.0.1";
    // A port the VMI declares -> the host port it is reached at; a port not
    // named here is reached at its own number.
    std::map<std::uint16_t, std::uint16_t> host_ports;
    bool operator==(const LaunchOptions&) const = default;
};

// A QMP command the launcher sends while the guest is still paused.
struct StartupCommand {
    std::string execute;
    std::string arguments;  // a JSON object
    bool operator==(const StartupCommand&) const = default;
};
// The hugetlbfs directory QEMU maps guest RAM of `page_size` pages from
// (-object memory-backend-file mem-path); the rendered Pod mounts its
// HugePages emptyDir at the same path.
inline const std::string& hugepages_dir(const LaunchOptions& o, vmi::Bytes page_size) {
    return page_size == vmi::gib(1) ? o.hugepages_1g_dir : o.hugepages_2m_dir;
}

// A file the launcher makes before starting QEMU, in order.
struct PrepareStep {
    enum class Kind {
        overlay,      // qcow2 overlay `path` over `source` (format `source_format`)
        sparse_file,  // a sparse raw file of `size` bytes at `path` (kept if it exists)
        cloud_init,   // an ISO9660 `cidata` seed at `path` holding `files`
        copy_file,    // a private copy of `source` at `path` (UEFI variables; kept if it exists)
        config_drive, // an ISO9660 `config-2` seed at `path` holding `files` (names may hold '/')
    };
    Kind kind;
    std::string path;
    std::string source;
    DiskFormat source_format = DiskFormat::raw;
    vmi::Bytes size;
    std::map<std::string, std::string> files;  // cloud_init: name -> contents
    bool operator==(const PrepareStep&) const = default;
};

// A descriptor the child holds at `number` when it execs.
struct FdSlot {
    enum class Kind {
        qmp_listener,  // the QMP socket the launcher listens on
        console,       // QEMU's end of the serial console's socket pair
        tap,           // a tap device the launcher was handed
    };
    Kind kind;
    int number;
    std::string name;  // tap: the interface
    bool operator==(const FdSlot&) const = default;
};

struct LaunchPlan {
    std::vector<std::string> argv;  // argv[0] is the QEMU binary
    std::vector<PrepareStep> prepare;
    std::vector<FdSlot> fds;
    std::string qmp_socket;      // the listening socket the launcher creates and passes
    std::string console_socket;  // where the launcher serves the serial console to `console` clients
    std::string console_log;     // what the serial console printed (the launcher writes it)
    std::uint64_t console_log_max_bytes = default_console_log_max_bytes;  // rotation size
    std::string state_dir;       // where the files above live (made by prepare_files)
    std::vector<std::string> warnings;  // choices worth telling the user about
    // When not empty, QEMU starts paused (-S): the launcher sends these in
    // order once QMP is ready, then `cont` (set_link for interfaces whose
    // state is down, so the guest never sees the link up).
    std::vector<StartupCommand> startup_commands;
    bool operator==(const LaunchPlan&) const = default;
};

}  // namespace qemu_args
