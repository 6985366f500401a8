// The bounds of vmi/limits.hpp applied to YAML text (internal to yaml_input).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "vmi/errors.hpp"

namespace vmi::detail {

// A yaml-cpp mark as a 1-based line and column, when it has one.
std::optional<SourceMark> to_mark(const YAML::Mark& m);

// Refuses what is not text: control bytes and invalid UTF-8 (SpecError
// with the line and column).
void check_text(std::string_view text);

// Refuses flow collections nesting deeper than limits::nesting and a
// quoted scalar never closed, from the raw text.
void scan_text(std::string_view text);

// One pass over the parser's events of at most two documents, before any
// node is built: refuses more than limits::yaml_nodes nodes, a list of
// more than limits::list_items items or a mapping of more than
// limits::map_keys keys, naming it. Returns the mark of the second
// document, if there is one.
std::optional<YAML::Mark> check_events(const std::string& text);

// Walks the built tree: duplicate keys, keys that are not plain strings,
// nesting, and more than limits::expanded_nodes nodes once aliases are followed.
void check_tree(const YAML::Node& doc);

}  // namespace vmi::detail
