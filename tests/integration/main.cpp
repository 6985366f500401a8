// The integration tests need root, a memory cgroup controller and QEMU: where
// the machine truly lacks one, the suite is skipped (exit 77) with the reason.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

const char* missing() {
    if (geteuid() != 0) return "needs root (cgroups, /run)";
    std::ifstream cgroups("/proc/cgroups");
    std::string line;
    bool memory = false;
    while (std::getline(cgroups, line)) memory |= line.rfind("memory\t", 0) == 0 && line.back() == '1';
    if (!memory) return "the kernel has no enabled memory cgroup controller";
    if (std::system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) return "qemu-system-x86_64 is not installed";
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* why = missing()) {
        std::fprintf(stderr, "skip: %s\n", why);
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
