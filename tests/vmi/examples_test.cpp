// Examples are executable documentation: each one loads, and its plans match
// the golden file next to it (UPDATE_GOLDEN=1 rewrites them after a reviewed change).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

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

namespace fs = std::filesystem;

// The VMIs examples/README.md lists (its "- `NAME.yaml`: ..." lines): the one
// place that says what belongs in examples/.
std::set<std::string> documented_vmis(const std::string& readme) {
    std::set<std::string> names;
    std::istringstream lines(readme);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("- `")) continue;
        const auto end = line.find("`", 3);
        if (end == std::string::npos) continue;
        const std::string file = line.substr(3, end - 3);
        if (file.ends_with(".yaml") && file.find('/') == std::string::npos) names.insert(file.substr(0, file.size() - 5));
    }
    return names;
}

// Every file and folder under `dir` (relative paths) that the documented
// VMIs do not account for.
std::set<std::string> unexpected_files(const fs::path& dir, const std::set<std::string>& vmis) {
    std::set<std::string> expected{"README.md", "pod"};
    for (const auto& n : vmis) {
        for (const char* suffix : {".yaml", ".plan.json", ".argv.json"}) expected.insert(n + suffix);
        expected.insert("pod/" + n + ".yaml");
    }
    std::set<std::string> extra;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string rel = e.path().lexically_relative(dir).generic_string();
        if (!expected.contains(rel)) extra.insert(rel);
    }
    return extra;
}

std::string joined(const std::set<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

TEST_CASE("examples/ holds exactly the documented examples and their golden files") {
    const auto dir = test_files::source_root() / "examples";
    const auto vmis = documented_vmis(test_files::read(dir / "README.md"));
    REQUIRE(vmis.size() >= 5);
    for (const auto& n : vmis) {
        INFO(n);
        CHECK(fs::is_regular_file(dir / (n + ".yaml")));
    }
    const auto extra = unexpected_files(dir, vmis);
    INFO("not documented in examples/README.md: " << joined(extra));
    CHECK(extra.empty());
}

TEST_CASE("the examples check sees a stray file, such as a fuzzer's corpus unit") {
    const fs::path dir = fs::temp_directory_path() / ("vmil-examples-" + std::to_string(::getpid()));
    fs::create_directories(dir / "pod");
    for (const char* f : {"README.md", "a.yaml", "a.plan.json", "a.argv.json", "pod/a.yaml"}) std::ofstream(dir / f) << "x";
    CHECK(documented_vmis("# x\n- `a.yaml`: one\n- `pod/a.yaml`: no\n-  `b.yaml`: no\n") == std::set<std::string>{"a"});
    CHECK(unexpected_files(dir, {"a"}).empty());
    std::ofstream(dir / "00da76f5ecb2caba8717160fdddb91f218f9b8ee") << "unit";
    std::ofstream(dir / "pod/b.yaml") << "stale";
    fs::create_directories(dir / "crash");
    CHECK(unexpected_files(dir, {"a"}) ==
          std::set<std::string>{"00da76f5ecb2caba8717160fdddb91f218f9b8ee", "crash", "pod/b.yaml"});
    // A VMI that is not listed is stray too, golden files and all.
    CHECK(unexpected_files(dir, {}).contains("a.plan.json"));
    fs::remove_all(dir);
}

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
