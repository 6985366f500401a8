// Finding the checkout's files from a test (meson sets SOURCE_ROOT).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>


namespace test_files {

inline std::filesystem::path source_root() {
    const char* root = std::getenv("SOURCE_ROOT");
    return root ? std::filesystem::path(root) : std::filesystem::current_path();
}

inline std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace test_files
