// Examples are executable documentation: each one loads, and its plans match
// the golden file next to it (UPDATE_GOLDEN=1 rewrites them after a reviewed change).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_files.hpp"
#include "vmi/plan_output.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

nlohmann::ordered_json golden_plans(const VmiSpec& spec) {
    nlohmann::ordered_json j;
    j["launcher-tcg"] = plan_to_json(spec, plan_memory(spec, {OverheadModel::launcher, Accel::tcg, 100, false}));
    j["launcher-kvm"] = plan_to_json(spec, plan_memory(spec, {OverheadModel::launcher, Accel::kvm, 100, false}));
    j["kubevirt-kvm"] = plan_to_json(spec, plan_memory(spec, {OverheadModel::kubevirt, Accel::kvm, 100, false}));
    return j;
}

}  // namespace

TEST_CASE("every example loads and its plans match the golden file") {
    const auto dir = test_files::source_root() / "examples";
    int checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto& path = e.path();
        if (path.extension() != ".yaml" || path.filename().string().ends_with(".plan.yaml")) continue;
        INFO(path.filename().string());
        const VmiSpec spec = load_vmi(test_files::read(path));
        const std::string actual = golden_plans(spec).dump(2) + "\n";
        auto golden = path;
        golden.replace_extension(".plan.json");
        if (std::getenv("UPDATE_GOLDEN")) std::ofstream(golden) << actual;
        REQUIRE(std::filesystem::exists(golden));
        CHECK(test_files::read(golden) == actual);
        ++checked;
    }
    CHECK(checked >= 5);
}
