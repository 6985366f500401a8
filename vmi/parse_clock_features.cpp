// spec.domain.clock and spec.domain.features, in KubeVirt's v1 spelling
// (api/core/v1 schema.go: Clock, ClockOffset, Timer, Features, FeatureHyperv).
#include "vmi/parse_clock_features.hpp"

#include <functional>

#include <fmt/format.h>

namespace vmi::detail {
namespace {

// A KubeVirt FeatureState: `{}` or `{enabled: BOOL}`; `{}` means enabled.
// `more` reads the keys some features add beside `enabled`.
bool feature_enabled(const Node& node, std::vector<Warning>& warnings,
                     const std::function<void(MapReader&)>& more = {}) {
    MapReader m(node, warnings);
    bool enabled = true;
    if (auto n = m.take("enabled")) enabled = n->as_bool();
    if (more) more(m);
    m.finish();
    return enabled;
}

std::string one_of(const Node& n, std::initializer_list<std::string_view> allowed, std::string_view what) {
    const std::string value = n.as_string();
    std::string list;
    for (auto a : allowed) {
        if (value == a) return value;
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    n.fail(fmt::format("\"{}\" is not a {} (use {})", value, what, list));
}

// KubeVirt's timers call their switch `present` (json tag of Enabled).
ClockTimer parse_timer(const Node& node, bool has_tick_policy, bool has_track, std::vector<Warning>& warnings) {
    ClockTimer t;
    t.where = node.where();
    MapReader m(node, warnings);
    if (auto n = m.take("present")) t.present = n->as_bool();
    if (has_tick_policy) {
        if (auto n = m.take("tickPolicy")) {
            t.tick_policy = one_of(*n, {"delay", "catchup", "merge", "discard"}, "tick policy");
        }
    }
    if (has_track) {
        if (auto n = m.take("track")) t.track = one_of(*n, {"guest", "wall"}, "RTC track");
    }
    m.finish();
    return t;
}

Hyperv parse_hyperv(const Node& node, std::vector<Warning>& warnings) {
    Hyperv h;
    MapReader m(node, warnings);
    const std::pair<const char*, std::optional<bool> Hyperv::*> plain[] = {
        {"relaxed", &Hyperv::relaxed},         {"vapic", &Hyperv::vapic},
        {"vpindex", &Hyperv::vpindex},         {"runtime", &Hyperv::runtime},
        {"synic", &Hyperv::synic},             {"reset", &Hyperv::reset},
        {"frequencies", &Hyperv::frequencies}, {"reenlightenment", &Hyperv::reenlightenment},
        {"ipi", &Hyperv::ipi},                 {"evmcs", &Hyperv::evmcs},
    };
    for (const auto& [key, member] : plain) {
        if (auto n = m.take(key)) h.*member = feature_enabled(*n, warnings);
    }
    if (auto n = m.take("tlbflush")) {
        // The nested-virtualisation variants of the TLB flush enlightenment.
        h.tlbflush = feature_enabled(*n, warnings, [&](MapReader& t) {
            if (auto d = t.take("direct")) h.tlbflush_direct = feature_enabled(*d, warnings);
            if (auto x = t.take("extended")) h.tlbflush_extended = feature_enabled(*x, warnings);
        });
    }
    if (auto n = m.take("synictimer")) {
        h.synic_timer = feature_enabled(*n, warnings, [&](MapReader& s) {
            if (auto d = s.take("direct")) h.synic_timer_direct = feature_enabled(*d, warnings);
        });
    }
    if (auto n = m.take("spinlocks")) {
        // KubeVirt's json tag for the retry count is `spinlocks`.
        h.spinlocks = feature_enabled(*n, warnings, [&](MapReader& s) {
            if (auto r = s.take("spinlocks")) h.spinlock_retries = static_cast<std::uint32_t>(r->as_int(0, 0xFFFFFFFF));
        });
    }
    if (auto n = m.take("vendorid")) {
        h.vendor_id_enabled = feature_enabled(*n, warnings, [&](MapReader& v) {
            if (auto id = v.take("vendorid")) h.vendor_id = id->as_string();
        });
    }
    m.finish();
    return h;
}

}  // namespace

Clock parse_clock(const Node& node, std::vector<Warning>& warnings) {
    Clock c;
    c.where = node.where();
    MapReader m(node, warnings);
    auto utc = m.take("utc");
    auto tz = m.take("timezone");
    if (utc && tz) tz->fail("give only one of utc and timezone");
    if (utc) {
        c.utc = true;
        MapReader u(*utc, warnings);
        // A guest clock more than ~68 years off is a typo, not a wish.
        constexpr std::int64_t max_offset = std::int64_t{1} << 31;
        if (auto n = u.take("offsetSeconds")) c.utc_offset_seconds = n->as_int(-max_offset, max_offset);
        u.finish();
    }
    if (tz) c.timezone = tz->as_string();
    if (auto t = m.take("timer")) {
        MapReader tm(*t, warnings);
        if (auto n = tm.take("rtc")) c.rtc = parse_timer(*n, true, true, warnings);
        if (auto n = tm.take("pit")) c.pit = parse_timer(*n, true, false, warnings);
        if (auto n = tm.take("hpet")) c.hpet = parse_timer(*n, true, false, warnings);
        if (auto n = tm.take("kvm")) c.kvm = parse_timer(*n, false, false, warnings);
        if (auto n = tm.take("hyperv")) c.hyperv = parse_timer(*n, false, false, warnings);
        tm.finish();
    }
    m.finish();
    return c;
}

Features parse_features(const Node& node, std::vector<Warning>& warnings) {
    Features f;
    f.where = node.where();
    MapReader m(node, warnings);
    if (auto n = m.take("acpi")) f.acpi = feature_enabled(*n, warnings);
    if (auto n = m.take("apic")) {
        f.apic = feature_enabled(*n, warnings, [&](MapReader& a) {
            if (auto e = a.take("endOfInterrupt")) f.apic_eoi = e->as_bool();
        });
    }
    if (auto n = m.take("smm")) f.smm = feature_enabled(*n, warnings);
    if (auto n = m.take("pvspinlock")) f.pvspinlock = feature_enabled(*n, warnings);
    if (auto n = m.take("kvm")) {
        MapReader k(*n, warnings);
        if (auto h = k.take("hidden")) f.kvm_hidden = h->as_bool();
        k.finish();
    }
    auto hyperv = m.take("hyperv");
    auto passthrough = m.take("hypervPassthrough");
    if (hyperv) f.hyperv = parse_hyperv(*hyperv, warnings);
    if (passthrough) {
        const bool on = feature_enabled(*passthrough, warnings);
        // KubeVirt's admitter: hypervPassthrough and hyperv exclude each other.
        if (on && hyperv) passthrough->fail("give only one of hyperv and hypervPassthrough");
        f.hyperv_passthrough = on;
    }
    m.finish();
    return f;
}

}  // namespace vmi::detail
