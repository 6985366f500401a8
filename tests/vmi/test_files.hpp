// Finding the checkout's files from a test (meson sets SOURCE_ROOT), and
// reading a VMI's error.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "vmi/validate.hpp"

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

// The error `load_vmi` gives for a VMI's text, or "" when it is valid.
inline std::string error_of(const std::string& text) {
    try {
        vmi::load_vmi(text);
    } catch (const vmi::SpecError& e) {
        return e.what();
    }
    return "";
}

}  // namespace test_files
