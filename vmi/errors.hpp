// Errors and warnings about a VMI, in the user's words: the field path and,
// where the YAML gives it, the line and column.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmi {

// A position in the YAML text, 1-based.
struct SourceMark {
    int line = 0;
    int column = 0;
    bool operator==(const SourceMark&) const = default;
};

// Where a value came from: its field path (`spec.domain.memory.guest`) and mark.
struct FieldRef {
    std::string path;
    std::optional<SourceMark> mark;

    // "spec.domain.memory.guest" + " (line 9, column 14)" when the mark is known.
    std::string describe() const;
    FieldRef child(const std::string& key) const;
    FieldRef index(std::size_t i) const;
};

// An invalid VMI. what() is the whole one-line message.
class SpecError : public std::runtime_error {
public:
    SpecError(const FieldRef& where, const std::string& message);
    explicit SpecError(const std::string& message) : std::runtime_error(message) {}
};

// A field the launcher reads but does not act on, or a default worth knowing.
struct Warning {
    std::string path;
    std::string message;
    bool operator==(const Warning&) const = default;
    std::string text() const { return path.empty() ? message : path + ": " + message; }
};

}  // namespace vmi
