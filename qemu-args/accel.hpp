// Choosing the accelerator: KVM only where it can really run a guest.
// On some hosts /dev/kvm opens and KVM initialises, yet guests hang because
// the CPU has no vmx/svm (no nested virtualisation): so both are checked.
#pragma once

#include <string>
#include <string_view>

#include "vmi/memory_plan.hpp"

namespace qemu_args {

enum class AccelRequest { auto_, kvm, tcg };

struct AccelChoice {
    vmi::Accel accel;
    std::string reason;
    bool operator==(const AccelChoice&) const = default;
};

// What the host offers, read by probe_host() or handed in by tests.
struct HostProbe {
    std::string cpuinfo;      // /proc/cpuinfo
    bool kvm_opens = false;   // open("/dev/kvm", O_RDWR) succeeded
    std::string kvm_error;    // why it did not
};

// True when a "flags" line of /proc/cpuinfo lists vmx or svm.
bool cpu_has_virtualization(std::string_view cpuinfo);

// Pure: the accelerator for a request on a host.
AccelChoice choose_accel(AccelRequest request, const HostProbe& host);

// Reads /proc/cpuinfo and tries /dev/kvm (paths injectable for tests).
HostProbe probe_host(const std::string& cpuinfo_path = "/proc/cpuinfo", const std::string& kvm_path = "/dev/kvm");

AccelRequest parse_accel_request(std::string_view text);  // throws std::invalid_argument

}  // namespace qemu_args
