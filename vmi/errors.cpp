#include "vmi/errors.hpp"

#include <fmt/format.h>

namespace vmi {

std::string FieldRef::describe() const {
    if (!mark) return path;
    return fmt::format("{} (line {}, column {})", path, mark->line, mark->column);
}

std::string_view FieldRef::policy_path() const {
    if (policy_offset >= path.size()) return {};
    return std::string_view(path).substr(policy_offset);
}

FieldRef FieldRef::child(const std::string& key) const {
    return {path.empty() ? key : path + "." + key, mark, scope, policy_offset};
}

FieldRef FieldRef::index(std::size_t i) const {
    return {fmt::format("{}[{}]", path, i), mark, scope, policy_offset};
}

namespace {
std::string located_message(const FieldRef& where, const std::string& message) {
    std::string text = where.path.empty() ? message : where.path + ": " + message;
    if (where.mark) text += fmt::format(" (line {}, column {})", where.mark->line, where.mark->column);
    return text;
}
}  // namespace

SpecError::SpecError(const FieldRef& where, const std::string& message)
    : std::runtime_error(located_message(where, message)) {}

}  // namespace vmi
