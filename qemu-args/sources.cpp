// The pure helpers of source resolution.
#include <map>
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

std::optional<std::pair<std::string, std::string>> image_dir_clash(const std::vector<std::string>& references) {
    std::map<std::string, std::string> seen;  // directory name -> reference
    for (const auto& ref : references) {
        auto [it, fresh] = seen.emplace(image_dir_name(ref), ref);
        if (!fresh && it->second != ref) return std::pair{it->second, ref};
    }
    return std::nullopt;
}

std::optional<std::string> entry_path(std::string_view dir, std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    std::string out(dir);
    if (out.empty() || out.back() != '/') out += '/';
    out += name;
    return out;
}

bool is_within(std::string_view root, std::string_view path) {
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    if (!path.starts_with(root)) return false;
    if (path.size() == root.size() || root == "/") return true;
    return path[root.size()] == '/';
}

std::pair<std::string, std::string> split_mapping(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size()) {
        throw std::invalid_argument("\"" + std::string(text) + "\" is not NAME=VALUE");
    }
    return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

}  // namespace qemu_args
