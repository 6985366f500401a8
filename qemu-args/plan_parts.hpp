// The pieces build_launch_plan is made of, one file each (internal).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "qemu-args/launch_plan.hpp"

namespace qemu_args::detail {

// Everything a piece reads, and the plan it adds to.
struct PlanContext {
    const vmi::VmiSpec& spec;
    const vmi::MemoryPlan& memory;
    const ResolvedSources& sources;
    const LaunchOptions& options;
    LaunchPlan& plan;

    void arg(const std::string& option) { plan.argv.push_back(option); }
    void arg(const std::string& option, const std::string& value) {
        plan.argv.push_back(option);
        plan.argv.push_back(value);
    }
    // -object, -device, -blockdev, -netdev as typed JSON: no escaping to get wrong.
    void json(const std::string& option, const nlohmann::ordered_json& value) { arg(option, value.dump()); }
    std::string state_file(const std::string& name) const { return plan.state_dir + "/" + name; }
};

// -name, -uuid, -machine, -accel, -cpu, -smp, -m and the RAM backend, the
// fixed hardening options, SMBIOS; kernelBoot and UEFI firmware.
void add_machine(PlanContext& c);
void add_boot(PlanContext& c);
// QMP on the passed listener, the serial console on a passed socket pair.
void add_control(PlanContext& c);
// Disks, their controllers, and the files behind them.
void add_disks(PlanContext& c);
// The RNG and the watchdog (device_args.cpp).
void add_devices(PlanContext& c);
// features and clock (features_args.cpp): options added to -machine and
// -cpu, and -rtc / -global for the clock.
std::string machine_feature_options(PlanContext& c);
std::string cpu_feature_flags(PlanContext& c);
void add_clock(PlanContext& c);
// NICs and the balloon.
void add_network(PlanContext& c);
void add_balloon(PlanContext& c);

// A QEMU id (letters, digits, '-', '.', '_', starting with a letter) from a
// name, else the fallback.
std::string qemu_id(const std::string& prefix, const std::string& name, const std::string& fallback);

}  // namespace qemu_args::detail
