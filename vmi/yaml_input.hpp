// Reading YAML safely and walking it with field paths: size and nesting caps
// before parsing, duplicate keys as errors, typed scalars with errors that
// name the field, and maps whose unread keys are reported.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "vmi/errors.hpp"
#include "vmi/limits.hpp"
#include "vmi/spec.hpp"

namespace vmi {

inline constexpr std::size_t max_input_bytes = limits::input_bytes;
inline constexpr int max_nesting = limits::nesting;

// Parses one YAML document. Refuses oversize, non-text, too deeply nested or
// multi-document input, documents with more nodes, list items or mapping
// keys than vmi/limits.hpp allows (counted before any tree is built), and
// duplicate keys, each with a SpecError.
YAML::Node load_yaml(std::string_view text);

// A YAML node together with where it is.
class Node {
public:
    Node(YAML::Node yaml, FieldRef where) : yaml_(std::move(yaml)), where_(std::move(where)) {}

    const FieldRef& where() const { return where_; }
    const YAML::Node& yaml() const { return yaml_; }
    bool is_null() const { return !yaml_.IsDefined() || yaml_.IsNull(); }

    std::string as_string() const;
    bool as_bool() const;
    std::int64_t as_int(std::int64_t min, std::int64_t max) const;
    QuantityField as_quantity() const;
    std::map<std::string, std::string> as_string_map() const;
    std::vector<Node> as_list() const;

    [[noreturn]] void fail(const std::string& message) const;

private:
    YAML::Node yaml_;
    FieldRef where_;
};

// Reads a mapping key by key; finish() reports the keys nobody took.
class MapReader {
public:
    MapReader(const Node& node, std::vector<Warning>& warnings);

    std::optional<Node> take(std::string_view key) { return take_key(key, false); }
    // take() and require the key to be present.
    Node require(std::string_view key);
    // Takes a key that is read for its presence but not acted on.
    void ignore(std::string_view key, std::string_view why);
    // Reports every key not taken: by the field policy (a warning, or a
    // refusal naming KubeVirt's field), as a resource name under
    // resources.requests/limits, or as an unknown field with the KubeVirt
    // field it most likely means (an error under spec, a warning elsewhere).
    void finish();

    const FieldRef& where() const { return where_; }

private:
    std::optional<Node> take_key(std::string_view key, bool ignored);

    FieldRef where_;
    std::vector<std::pair<std::string, Node>> entries_;
    std::vector<bool> taken_;
    std::vector<Warning>& warnings_;
};

// Sees every key a MapReader is asked for, present or not, with its path in
// the field policy's terms (`spec.domain.devices.disks.cache`): the test of
// the field policy uses it to learn which fields the parser reads.
class FieldObserver {
public:
    virtual ~FieldObserver() = default;
    // `ignored`: asked by MapReader::ignore (read only to warn about it).
    virtual void asked(PolicyScope scope, std::string_view path, bool ignored) = 0;
};

// Installs an observer for this thread while alive.
class ScopedFieldObserver {
public:
    explicit ScopedFieldObserver(FieldObserver& observer);
    ~ScopedFieldObserver();
    ScopedFieldObserver(const ScopedFieldObserver&) = delete;
    ScopedFieldObserver& operator=(const ScopedFieldObserver&) = delete;

private:
    FieldObserver* previous_;
};

// `spec.volumes[2].containerDisk` -> `spec.volumes.containerDisk`
std::string without_indices(std::string_view path);

// What to do with a field the launcher does not act on.
enum class Unacted { warn, reject };

struct FieldPolicy {
    Unacted action;
    std::string_view reason;
};

// The policy for a field path with list indices removed
// (`spec.domain.devices.gpus`), or nullopt for a field the launcher acts on
// or one unknown to KubeVirt's API (field_policy.hpp has the whole picture).
std::optional<FieldPolicy> policy_for(std::string_view path);

// The same for a VirtualMachine's own fields (`spec.dataVolumeTemplates`);
// its template is looked up with policy_for.
std::optional<FieldPolicy> vm_policy_for(std::string_view path);

}  // namespace vmi
