#include "vmi/validate_devices.hpp"

#include <fmt/format.h>

namespace vmi::detail {
namespace {

[[noreturn]] void fail(const FieldRef& where, const std::string& message) { throw SpecError(where, message); }

// KubeVirt's SetHypervFeatureDependencies (pkg/virt-api/webhooks): an
// enlightenment that needs another turns it on when it is not given, and is
// refused when it is given disabled. Leaves first, so that synictimer's
// synic pulls in vpindex in turn.
void default_hyperv_dependencies(Hyperv& h, const std::string& path) {
    struct Need {
        std::optional<bool> Hyperv::*feature;
        const char* feature_name;
        std::optional<bool> Hyperv::*requires_;
        const char* requires_name;
    };
    const Need needs[] = {
        {&Hyperv::evmcs, "evmcs", &Hyperv::vapic, "vapic"},
        {&Hyperv::ipi, "ipi", &Hyperv::vpindex, "vpindex"},
        {&Hyperv::tlbflush, "tlbflush", &Hyperv::vpindex, "vpindex"},
        {&Hyperv::synic_timer, "synictimer", &Hyperv::synic, "synic"},
        {&Hyperv::synic, "synic", &Hyperv::vpindex, "vpindex"},
    };
    for (const auto& n : needs) {
        if (h.*(n.feature) != true) continue;
        if (!(h.*(n.requires_))) {
            h.*(n.requires_) = true;
        } else if (h.*(n.requires_) == false) {
            fail(FieldRef{path + "." + n.feature_name, std::nullopt},
                 fmt::format("{} requires {}.{}, which is disabled", n.feature_name, path, n.requires_name));
        }
    }
}

void validate_hyperv(Hyperv& h, const std::string& path) {
    default_hyperv_dependencies(h, path);
    // KubeVirt's SetDefaults_FeatureSpinlocks.
    if (h.spinlocks == true && !h.spinlock_retries) h.spinlock_retries = 4096;
    if (h.vendor_id_enabled == true) {
        // QEMU's hv-vendor-id fills 12 bytes of CPUID (libvirt's limit too).
        if (h.vendor_id.empty() || h.vendor_id.size() > 12) {
            fail(FieldRef{path + ".vendorid.vendorid", std::nullopt},
                 fmt::format("\"{}\" is not a Hyper-V vendor id: give 1 to 12 characters", h.vendor_id));
        }
        for (char c : h.vendor_id) {
            if (c <= ' ' || c > '~' || c == ',') {
                fail(FieldRef{path + ".vendorid.vendorid", std::nullopt},
                     fmt::format("\"{}\" is not a Hyper-V vendor id: use printable ASCII without spaces or commas",
                                 h.vendor_id));
            }
        }
    }
}

// An IANA zone name as time.LoadLocation takes it: letters, digits, '/', '_', '-', '+'.
bool is_zone_name(const std::string& s) {
    if (s.empty() || s.size() > 64 || s.front() == '/' || s.find("..") != std::string::npos) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                        c == '_' || c == '-' || c == '+';
        if (!ok) return false;
    }
    return true;
}

void validate_clock(const Clock& c, std::vector<Warning>& warnings) {
    if (!c.timezone.empty()) {
        if (!is_zone_name(c.timezone)) {
            fail(c.where.child("timezone"), fmt::format("\"{:.80}\" is not a time zone name (like Europe/Paris)",
                                                        c.timezone));
        }
        warnings.push_back({c.where.child("timezone").path,
                            "not applied: the guest's RTC runs in UTC (clock.utc.offsetSeconds gives a fixed "
                            "offset)"});
    }
    if (c.rtc) {
        if (!c.rtc->present) warnings.push_back({c.rtc->where.path, "ignored: the RTC cannot be removed"});
        const std::string& p = c.rtc->tick_policy;
        if (p == "merge" || p == "discard") {
            fail(c.rtc->where.child("tickPolicy"), fmt::format("\"{}\" is not an RTC tick policy (use delay or catchup)", p));
        }
    }
    if (c.pit && c.pit->tick_policy == "merge") {
        fail(c.pit->where.child("tickPolicy"), "\"merge\" is not a PIT tick policy (use delay, catchup or discard)");
    }
    if (c.hpet && !c.hpet->tick_policy.empty()) {
        warnings.push_back({c.hpet->where.child("tickPolicy").path, "ignored: QEMU's HPET has no tick policy"});
    }
}

}  // namespace

void default_and_validate_devices(Domain& d, std::vector<Warning>& warnings) {
    if (d.features.hyperv) validate_hyperv(*d.features.hyperv, d.path + ".features.hyperv");
    validate_clock(d.clock, warnings);
}

}  // namespace vmi::detail
