// spec.domain.features and spec.domain.clock as QEMU options, mapped the
// way KubeVirt's converter writes them into libvirt's domain XML and
// libvirt turns that into QEMU's command line.
#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "qemu-args/plan_parts.hpp"
#include "qemu-args/quote.hpp"

namespace qemu_args::detail {
namespace {

// libvirt emits a Hyper-V enlightenment only when it is on.
void add_hv(std::string& flags, const std::optional<bool>& state, const char* name) {
    if (state == true) flags += fmt::format(",{}=on", name);
}

std::string hyperv_flags(const vmi::Features& f, const vmi::Clock& clock) {
    std::string flags;
    if (f.hyperv_passthrough) flags += ",hv-passthrough=on";
    if (f.hyperv) {
        const vmi::Hyperv& h = *f.hyperv;
        add_hv(flags, h.relaxed, "hv-relaxed");
        add_hv(flags, h.vapic, "hv-vapic");
        if (h.spinlocks == true) flags += fmt::format(",hv-spinlocks={:#x}", h.spinlock_retries.value_or(4096));
        add_hv(flags, h.vpindex, "hv-vpindex");
        add_hv(flags, h.runtime, "hv-runtime");
        add_hv(flags, h.synic, "hv-synic");
        add_hv(flags, h.synic_timer, "hv-stimer");
        if (h.synic_timer == true) add_hv(flags, h.synic_timer_direct, "hv-stimer-direct");
        add_hv(flags, h.reset, "hv-reset");
        if (h.vendor_id_enabled == true) flags += ",hv-vendor-id=" + escape_option_value(h.vendor_id);
        add_hv(flags, h.frequencies, "hv-frequencies");
        add_hv(flags, h.reenlightenment, "hv-reenlightenment");
        add_hv(flags, h.tlbflush, "hv-tlbflush");
        if (h.tlbflush == true) {
            add_hv(flags, h.tlbflush_direct, "hv-tlbflush-direct");
            add_hv(flags, h.tlbflush_extended, "hv-tlbflush-ext");
        }
        add_hv(flags, h.ipi, "hv-ipi");
        add_hv(flags, h.evmcs, "hv-evmcs");
    }
    // The Hyper-V reference TSC page, libvirt's hypervclock timer.
    if (clock.hyperv && clock.hyperv->present) flags += ",hv-time=on";
    return flags;
}

// KVM's own paravirtual interfaces.
std::string kvm_flags(const vmi::Features& f, const vmi::Clock& clock) {
    std::string flags;
    if (f.kvm_hidden) flags += ",kvm=off";
    if (f.pvspinlock) flags += fmt::format(",kvm-pv-unhalt={}", *f.pvspinlock ? "on" : "off");
    if (f.apic == true && f.apic_eoi) flags += fmt::format(",kvm-pv-eoi={}", *f.apic_eoi ? "on" : "off");
    if (clock.kvm && !clock.kvm->present) flags += ",kvmclock=off";
    return flags;
}

// QEMU's -rtc base= takes a UTC date and time: "2006-06-17T16:01:21".
std::string rtc_datetime(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_seconds t{seconds{unix_seconds}};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> hms{t - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count());
}

}  // namespace

std::string machine_feature_options(PlanContext& c) {
    const vmi::Domain& d = c.spec.domain;
    std::string options;
    if (!d.features.acpi) options += ",acpi=off";
    // The secure-boot firmware asks for SMM on its own (add_machine).
    const bool secure_boot = c.sources.efi && c.sources.efi->secure_boot;
    if (d.features.smm == true && !secure_boot) options += ",smm=on";
    if (d.clock.hpet && !d.clock.hpet->present) options += ",hpet=off";
    if (d.clock.pit && !d.clock.pit->present) options += ",pit=off";
    return options;
}

std::string cpu_feature_flags(PlanContext& c) {
    const vmi::Domain& d = c.spec.domain;
    const std::string hv = hyperv_flags(d.features, d.clock);
    const std::string kvm = kvm_flags(d.features, d.clock);
    if (c.options.accel == vmi::Accel::kvm) return hv + kvm;
    // Under TCG QEMU builds no Hyper-V or KVM CPUID leaves (hv-vpindex is
    // even refused): the guest could not see these, so they are left out.
    if (!hv.empty()) {
        c.plan.warnings.push_back(fmt::format("{}.features.hyperv: Hyper-V enlightenments need KVM; not applied "
                                              "under TCG ({})",
                                              d.path, hv.substr(1)));
    }
    if (!kvm.empty()) {
        c.plan.warnings.push_back(fmt::format("{}: KVM paravirtual settings need KVM; not applied under TCG ({})",
                                              d.path, kvm.substr(1)));
    }
    return "";
}

void add_clock(PlanContext& c) {
    const vmi::Clock& clock = c.spec.domain.clock;
    std::string rtc;
    if (clock.utc_offset_seconds) {
        // libvirt's utc with an adjustment: the RTC starts at now + offset.
        if (!c.options.wall_clock_seconds) {
            throw std::invalid_argument("clock.utc.offsetSeconds needs the wall clock (LaunchOptions::wall_clock_seconds)");
        }
        rtc = "base=" + rtc_datetime(*c.options.wall_clock_seconds + *clock.utc_offset_seconds);
    } else if (clock.utc || !clock.timezone.empty()) {
        rtc = "base=utc";
    }
    if (clock.rtc) {
        if (clock.rtc->track == "guest") rtc += ",clock=vm";
        if (clock.rtc->track == "wall") rtc += ",clock=host";
        if (clock.rtc->tick_policy == "catchup") rtc += ",driftfix=slew";
        if (clock.rtc->tick_policy == "delay") rtc += ",driftfix=none";
    }
    if (!rtc.empty()) c.arg("-rtc", rtc.front() == ',' ? rtc.substr(1) : rtc);

    if (clock.pit && clock.pit->present && !clock.pit->tick_policy.empty()) {
        const std::string& policy = clock.pit->tick_policy;
        const std::string where = c.spec.domain.path + ".clock.timer.pit.tickPolicy";
        if (c.options.accel != vmi::Accel::kvm) {
            c.plan.warnings.push_back(where + ": not applied under TCG (QEMU's emulated PIT has no tick policy)");
        } else if (policy == "delay") {
            // libvirt's delay (ticks are not made up) is QEMU's discard.
            c.arg("-global", "kvm-pit.lost_tick_policy=discard");
        } else if (policy == "discard") {
            c.plan.warnings.push_back(where + ": discard is not offered by QEMU's PIT; its default (catchup) applies");
        }
        // catchup is QEMU's default for the in-kernel PIT (lost_tick_policy=delay).
    }
}

}  // namespace qemu_args::detail
