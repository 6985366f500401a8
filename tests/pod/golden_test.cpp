// examples/pod/ holds the rendered manifests of every example VMI; they must
// be exactly what `vmi-launcher pod FILE --with-configmap` prints today
// (UPDATE_GOLDEN=1 rewrites them after a reviewed change).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../launcher/run_command.hpp"
#include "../vmi/test_files.hpp"

namespace fs = std::filesystem;

TEST_CASE("every example's rendered Pod and ConfigMap match examples/pod/") {
    const fs::path examples = test_files::source_root() / "examples";
    int checked = 0;
    for (const auto& e : fs::directory_iterator(examples)) {
        if (e.path().extension() != ".yaml") continue;
        INFO(e.path().filename().string());
        const auto r = test_cmd::run({test_cmd::launcher(), "pod", e.path().string(), "--with-configmap"});
        REQUIRE(r.status == 0);
        const fs::path golden = examples / "pod" / e.path().filename();
        if (std::getenv("UPDATE_GOLDEN")) std::ofstream(golden) << r.out;
        REQUIRE(fs::exists(golden));
        CHECK(test_files::read(golden) == r.out);
        ++checked;
    }
    CHECK(checked >= 5);
    // No stale manifest for an example that is gone.
    for (const auto& g : fs::directory_iterator(examples / "pod")) {
        if (g.path().extension() == ".yaml") CHECK(fs::exists(examples / g.path().filename()));
    }
}
