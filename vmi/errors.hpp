// Errors and warnings about a VMI, in the user's words: the field path and,
// where the YAML gives it, the line and column.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vmi {

// A position in the YAML text, 1-based.
struct SourceMark {
    int line = 0;
    int column = 0;
    bool operator==(const SourceMark&) const = default;
};

// Which object's field policy a path is looked up in.
enum class PolicyScope : unsigned char {
    vmi,              // a VirtualMachineInstance's fields, or a VirtualMachine's template
    virtual_machine,  // a VirtualMachine's own spec (runStrategy, dataVolumeTemplates, ...)
};

// Where a value came from: its field path (`spec.domain.memory.guest`) and mark.
struct FieldRef {
    std::string path;
    std::optional<SourceMark> mark;
    PolicyScope scope = PolicyScope::vmi;
    // How many leading characters of `path` locate the VMI in the document:
    // 0 in a VMI, the length of "spec.template." in a VirtualMachine, so that
    // a template's fields get exactly the rules of the same VMI's while
    // messages still name the user's path.
    std::size_t policy_offset = 0;

    // The path the field policy is looked up with: `spec.domain.devices.rng`
    // for `spec.template.spec.domain.devices.rng`.
    std::string_view policy_path() const;

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
