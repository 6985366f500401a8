// The pure helpers of source resolution.
#include <stdexcept>

#include "qemu-args/sources.hpp"

namespace qemu_args {

DiskFormat detect_format(std::string_view header) {
    return header.starts_with(std::string_view("QFI\xfb", 4)) ? DiskFormat::qcow2 : DiskFormat::raw;
}

std::string to_string(DiskFormat format) { return format == DiskFormat::qcow2 ? "qcow2" : "raw"; }

std::string image_dir_name(std::string_view reference) {
    std::string name;
    for (char c : reference) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '_' || c == '-';
        name += safe ? c : '_';
    }
    // "", "." and ".." would name the images directory or its parent.
    if (name.find_first_not_of('.') == std::string::npos) name = std::string(name.size() + 1, '_');
    return name;
}

std::pair<std::string, std::string> split_mapping(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
        throw std::invalid_argument("\"" + std::string(text) + "\" is not NAME=VALUE");
    }
    return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

}  // namespace qemu_args
