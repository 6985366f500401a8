// The integration tests' main: skips (exit 77) only when QEMU is missing,
// builds the test guest once (tests/guest/build-guest.sh), then runs Catch.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "../vmi/test_files.hpp"
#include "integration.hpp"
#include "qemu-args/prepare.hpp"

namespace qemu_test {

std::string guest_image;

}  // namespace qemu_test

namespace {

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (!on_path("qemu-system-x86_64")) {
        std::cerr << "skip: qemu-system-x86_64 not found (scripts/setup.sh installs it)\n";
        return 77;
    }
    std::string output;
    const std::string script = (test_files::source_root() / "tests/guest/build-guest.sh").string();
    const int status = qemu_args::run_program({script}, output);
    const std::string key = "VMIL_GUEST_IMAGE=";
    const auto at = output.find(key);
    if (status != 0 || at == std::string::npos) {
        std::cout << "FAIL: " << script << " exited with " << status << ":\n" << output;
        return 1;
    }
    qemu_test::guest_image = output.substr(at + key.size(), output.find('\n', at) - at - key.size());
    return Catch::Session().run(argc, argv);
}
