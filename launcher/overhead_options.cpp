#include "launcher/overhead_options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "vmi/memory_plan.hpp"

namespace launcher {

void add_overhead_options(CLI::App& cmd, std::string& model, std::string& ratio, bool kubevirt_only) {
    std::vector<std::string> names;
    for (const auto m : vmi::overhead_models()) {
        if (!kubevirt_only || vmi::is_kubevirt(m)) names.push_back(vmi::to_string(m));
    }
    const std::string help =
        kubevirt_only
            ? "KubeVirt's formula to compare with the launcher's: kubevirt (KubeVirt's main branch) or the "
              "release kubevirt-v1.9, kubevirt-v1.8, kubevirt-v1.7, kubevirt-v1.6"
            : "launcher: this launcher's measured overhead (default); kubevirt: KubeVirt's formula on its main "
              "branch; kubevirt-v1.9, kubevirt-v1.8, kubevirt-v1.7, kubevirt-v1.6: the formula of that release";
    cmd.add_option("--overhead-model", model, help)->check(CLI::IsMember(names))->capture_default_str();
    cmd.add_option("--overhead-ratio", ratio,
                   "KubeVirt's cluster additionalGuestMemoryOverheadRatio: the kubevirt models' overhead is "
                   "multiplied by it (1 to 10, at most 6 decimals; the launcher model ignores it)")
        ->check(CLI::Validator(
            [](std::string& text) {
                return vmi::parse_overhead_ratio(text)
                           ? std::string()
                           : fmt::format("\"{}\" is not a ratio from 1 to 10 with at most 6 decimals", text);
            },
            "RATIO"))
        ->type_name("RATIO")
        ->capture_default_str();
}

}  // namespace launcher
