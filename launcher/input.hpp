// Reading the VMI text from a file or standard input.
#pragma once

#include <string>

namespace launcher {

// The whole of `path` ("-" for standard input), at most a little over the
// YAML size cap so the parser can say how big it was. Throws
// std::runtime_error naming the path and the reason.
std::string read_input(const std::string& path);

}  // namespace launcher
