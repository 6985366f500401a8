// The error a VMI's text gives, for tests that compare messages.
#pragma once

#include <string>

#include "vmi/validate.hpp"

namespace test_files {

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
