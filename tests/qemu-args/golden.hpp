// The golden argv of the examples: how every example is resolved (fixture
// image roots under tests/qemu-args/fixtures) and planned (launcher model,
// TCG, default state directory), and how the checkout's path is written.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "../vmi/test_files.hpp"
#include "qemu-args/build_plan.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/validate.hpp"

namespace qemu_test {

inline std::string checkout() {
    return std::filesystem::absolute(test_files::source_root()).lexically_normal().string();
}

inline std::string fixture(const std::string& relative) {
    return checkout() + "/tests/qemu-args/fixtures/" + relative;
}

// The --image mappings the golden files are made with.
inline std::map<std::string, std::string> golden_images() {
    const std::string fedora = fixture("images/fedora-cloud-registry-disk-demo");
    return {
        {"vmi-launcher/test-guest", fixture("images/test-guest")},
        {"<registry_address>/kubevirt/fedora-cloud-registry-disk-demo:latest", fedora},
        {"<registry_url>/kubevirt/fedora-cloud-registry-disk-demo:latest", fedora},
    };
}

// The argv as a JSON array, two-space indented, the checkout written @SOURCE_ROOT@.
inline std::string golden_text(const std::vector<std::string>& argv) {
    std::string text = nlohmann::json(argv).dump(2) + "\n";
    const std::string root = checkout();
    for (auto pos = text.find(root); pos != std::string::npos; pos = text.find(root, pos)) {
        text.replace(pos, root.size(), "@SOURCE_ROOT@");
    }
    return text;
}

inline qemu_args::LaunchPlan golden_plan(const std::string& yaml) {
    const vmi::VmiSpec spec = vmi::load_vmi(yaml);
    vmi::PlanOptions p;
    p.accel = vmi::Accel::tcg;
    const vmi::MemoryPlan memory = vmi::plan_memory(spec, p);
    qemu_args::SourceOptions sources;
    sources.images = golden_images();
    qemu_args::LaunchOptions options;
    options.accel = vmi::Accel::tcg;
    options.state_dir = qemu_args::default_state_dir(spec);
    return qemu_args::build_launch_plan(spec, memory, qemu_args::resolve_sources(spec, sources), options);
}

}  // namespace qemu_test
