// The integration tests' main: real cgroups need root and a memory
// controller; without them the run is skipped (exit 77) with the reason.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "cgroups/teardown.hpp"

#include "integration_support.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::cerr << "skip: creating cgroups needs root\n";
        return 77;
    }
    const auto& m = cgroups_test::machine();
    if (!m.detection.memory_available) {
        std::cerr << "skip: no memory cgroup controller: " << m.detection.why_no_memory << "\n";
        return 77;
    }
    if (!std::getenv("CGROUPS_TEST_HELPER")) {
        std::cerr << "CGROUPS_TEST_HELPER must name the cgroups-test-helper program\n";
        return 2;
    }
    std::cout << cgroups::describe(m.detection) << "\n" << m.backend_reason << "\n";
    Catch::Session session;
    if (const int bad = session.applyCommandLine(argc, argv); bad != 0) return bad;
    // Each version's own cases run where that version is: the host suite
    // (v1 on the project's hosts) and the guest suite (cgroups-v2-in-guest,
    // v2) together run them all. A case of the other version fails here
    // (it requires its version), so unless test cases were named on the
    // command line it is left out, and the output says so.
    auto& specs = session.configData().testsOrTags;
    if (specs.empty()) {
        const bool v2 = m.detection.version == cgroups::Version::v2;
        specs.push_back(v2 ? "~[v1]" : "~[v2]");
        std::cout << "cgroup " << (v2 ? "v2" : "v1") << " here: the " << (v2 ? "[v1]" : "[v2]")
                  << " cases are left to the " << (v2 ? "host" : "guest (cgroups-v2-in-guest)") << " run\n";
    }
    // Orphans of the helper (grandchildren) come back to this process, so the
    // tests can reap them and see how they died.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    const int failures = session.run();
    try {
        // With the namespace levels below it (<parent>/<namespace>/<name>): one
        // made by a launcher the stale test killed is left by the next.
        if (std::filesystem::exists(m.parent_dir())) cgroups::remove_tree(*m.backend, m.parent_dir());
    } catch (const std::exception& e) {
        std::cerr << "cannot remove the tests' parent cgroup: " << e.what() << "\n";
    }
    return failures == 0 ? 0 : 1;
}
