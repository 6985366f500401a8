// Running a program from a test and collecting what it printed.
#pragma once

#include <string>
#include <vector>

namespace test_cmd {

struct Result {
    int status = -1;  // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs argv (argv[0] a path) with `input` on standard input.
Result run(const std::vector<std::string>& argv, const std::string& input = "");

// The built launcher (VMI_LAUNCHER from meson).
std::string launcher();

}  // namespace test_cmd
