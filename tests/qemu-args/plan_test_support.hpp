// Helpers for the build_launch_plan tests: options, a VMI body built into
// a plan (with hand-made resolved sources), and legacy option keys.
#pragma once

#include <catch2/catch.hpp>

#include "qemu-args/build_plan.hpp"
#include "test_support.hpp"

namespace qemu_test {

using namespace qemu_args;

inline const std::string state = "/run/vmi-launcher/default/t";

inline LaunchOptions options(vmi::Accel accel = vmi::Accel::tcg) {
    LaunchOptions o;
    o.state_dir = state;
    o.accel = accel;
    return o;
}

inline vmi::VmiSpec spec_of(const std::string& spec_body) { return vmi::load_vmi(vmi_yaml(spec_body)); }

inline vmi::MemoryPlan memory_of(const vmi::VmiSpec& spec, vmi::Accel accel) {
    vmi::PlanOptions p;
    p.accel = accel;
    return vmi::plan_memory(spec, p);
}

inline LaunchPlan build(const std::string& spec_body, const ResolvedSources& sources = {},
                        const LaunchOptions& o = options()) {
    const auto spec = spec_of(spec_body);
    return build_launch_plan(spec, memory_of(spec, o.accel), sources, o);
}

inline std::string build_error(const std::string& spec_body, const ResolvedSources& sources = {},
                               const LaunchOptions& o = options()) {
    try {
        build(spec_body, sources, o);
    } catch (const std::exception& e) {
        return e.what();
    }
    FAIL("build_launch_plan did not throw");
    return "";
}

inline const std::string small = "  domain:\n    memory: {guest: 256Mi}\n";

// Splits a legacy option at single commas (",," is a comma inside a value).
inline std::vector<std::string> legacy_keys(const std::string& value) {
    std::vector<std::string> keys;
    std::string part;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i < value.size() && value[i] == ',' && i + 1 < value.size() && value[i + 1] == ',') {
            part += ',';
            ++i;
        } else if (i == value.size() || value[i] == ',') {
            keys.push_back(part.substr(0, part.find('=')));
            part.clear();
        } else {
            part += value[i];
        }
    }
    return keys;
}

inline ResolvedVolume resolved(const std::string& name, const std::string& path, DiskFormat f = DiskFormat::raw) {
    ResolvedVolume r;
    r.name = name;
    r.path = path;
    r.format = f;
    return r;
}

}  // namespace qemu_test
