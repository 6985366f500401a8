// Finding QEMU and the preparation tools on PATH, as execvp would.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "qemu-args/prepare.hpp"

namespace fs = std::filesystem;

TEST_CASE("find_program: the first executable regular file on PATH") {
    const fs::path root = fs::temp_directory_path() / ("find-program-" + std::to_string(::getpid()));
    for (const char* d : {"a", "b", "c", "c/tool"}) fs::create_directories(root / d);
    std::ofstream(root / "a" / "tool") << "not executable";
    std::ofstream(root / "b" / "tool") << "#!/bin/sh\n";
    fs::permissions(root / "b" / "tool", fs::perms::owner_all);
    const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    // c/tool is a directory, a/tool is not executable: b/tool it is.
    ::setenv("PATH", (root / "c").string().append(":").append((root / "a").string()).append(":")
                         .append((root / "b").string()).c_str(), 1);
    CHECK(qemu_args::find_program("tool") == (root / "b" / "tool").string());
    CHECK_FALSE(qemu_args::find_program("no-such-tool"));
    // A name with a slash is taken as it is.
    CHECK(qemu_args::find_program("./tool") == "./tool");
    ::setenv("PATH", old_path.c_str(), 1);
    fs::remove_all(root);
}
