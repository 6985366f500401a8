// The launcher's name for the one move-only file descriptor owner, which
// lives in cgroups/ (the lowest library that holds descriptors).
#pragma once

#include "cgroups/unique_fd.hpp"

namespace launcher {

using Fd = cgroups::UniqueFd;

}  // namespace launcher
