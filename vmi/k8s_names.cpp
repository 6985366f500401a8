#include "vmi/k8s_names.hpp"

#include "vmi/validate.hpp"

namespace vmi {
namespace {

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The name part of a qualified name, and a non-empty label value.
bool is_label_name(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s) {
        if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
    }
    return alnum(s.front()) && alnum(s.back());
}

}  // namespace

bool is_dns1123_subdomain_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = s.find('.', start);
        const std::string_view part = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (!is_dns1123_label(part)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool is_qualified_name(std::string_view s) {
    const std::size_t slash = s.find('/');
    if (slash == std::string_view::npos) return is_label_name(s);
    return is_dns1123_subdomain_name(s.substr(0, slash)) && is_label_name(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) { return s.empty() || is_label_name(s); }

}  // namespace vmi
