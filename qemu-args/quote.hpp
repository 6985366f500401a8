// Text that travels to QEMU or to a shell: doubling commas for QEMU's legacy
// `key=value,...` options, and quoting an argv for a POSIX shell.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qemu_args {

// A value for a legacy QEMU option (-chardev, -machine, -smbios, -name ...):
// every comma doubled, so the value cannot end early and start another key.
std::string escape_option_value(std::string_view value);

// One line a POSIX shell splits back into exactly `argv`: words made only of
// safe characters stay as they are, others are single-quoted ('\'' for a quote).
std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace qemu_args
