#include "vmi/yaml_input.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include "vmi/field_verdict.hpp"
#include "vmi/kubevirt_api.hpp"
#include "vmi/yaml_bounds.hpp"

namespace vmi {
namespace {

using detail::to_mark;

std::string kind_of(const YAML::Node& n) {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "null";
    return fmt::format("\"{}\"", n.Scalar());
}

bool is_quoted(const YAML::Node& n) { return n.Tag() == "!"; }

}  // namespace

YAML::Node load_yaml(std::string_view text) {
    if (text.size() > max_input_bytes) {
        throw SpecError(fmt::format("input is {} bytes; the limit is {} bytes", text.size(), max_input_bytes));
    }
    std::string_view body = text;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 byte order mark
    detail::check_text(body);
    detail::scan_text(body);
    const std::string yaml(body);
    YAML::Node doc;
    std::optional<YAML::Mark> second;
    try {
        second = detail::check_events(yaml);
        doc = YAML::Load(yaml);
    } catch (const YAML::DeepRecursion& e) {
        throw SpecError(FieldRef{"", to_mark(e.mark)}, "input nests too deeply");
    } catch (const YAML::ParserException& e) {
        throw SpecError(FieldRef{"", to_mark(e.mark)}, "YAML syntax error: " + e.msg);
    }
    if (second && second->pos >= 0 && static_cast<std::size_t>(second->pos) < yaml.size() &&
        yaml[static_cast<std::size_t>(second->pos)] == ',') {
        throw SpecError(FieldRef{"", to_mark(*second)}, "YAML syntax error: stray \",\" after the document");
    }
    if (doc.IsNull()) throw SpecError("input is empty: expected a VirtualMachineInstance");
    if (second) {
        throw SpecError(FieldRef{"", to_mark(*second)},
                        "input holds more than one YAML document; give one VirtualMachineInstance");
    }
    detail::check_tree(doc);
    return doc;
}

void Node::fail(const std::string& message) const { throw SpecError(where_, message); }

std::string Node::as_string() const {
    if (is_null()) return "";
    if (!yaml_.IsScalar()) fail(fmt::format("must be a string, not {}", kind_of(yaml_)));
    // A "\0" escape would cut a QEMU argument short at exec.
    if (yaml_.Scalar().find('\0') != std::string::npos) fail("must not contain a NUL character");
    return yaml_.Scalar();
}

bool Node::as_bool() const {
    if (yaml_.IsScalar() && !is_quoted(yaml_)) {
        const std::string& s = yaml_.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    fail(fmt::format("must be true or false, not {}", kind_of(yaml_)));
}

std::int64_t Node::as_int(std::int64_t min, std::int64_t max) const {
    if (yaml_.IsScalar() && !is_quoted(yaml_)) {
        const std::string& s = yaml_.Scalar();
        std::int64_t v = 0;
        const char* first = s.data() + (s.size() > 1 && s[0] == '+' ? 1 : 0);
        auto [end, ec] = std::from_chars(first, s.data() + s.size(), v);
        if (ec == std::errc{} && end == s.data() + s.size()) {
            if (v < min || v > max) fail(fmt::format("{} is out of range [{}, {}]", v, min, max));
            return v;
        }
    }
    fail(fmt::format("must be an integer, not {}", kind_of(yaml_)));
}

QuantityField Node::as_quantity() const {
    if (!yaml_.IsScalar()) fail(fmt::format("must be a quantity such as 1Gi, not {}", kind_of(yaml_)));
    std::string why;
    auto q = Quantity::try_parse(yaml_.Scalar(), &why);
    if (!q) fail(fmt::format("\"{}\" is not a quantity: it {}", yaml_.Scalar(), why));
    return {*q, where_};
}

std::map<std::string, std::string> Node::as_string_map() const {
    std::map<std::string, std::string> out;
    if (is_null()) return out;
    if (!yaml_.IsMap()) fail(fmt::format("must be a mapping of strings, not {}", kind_of(yaml_)));
    for (auto it = yaml_.begin(); it != yaml_.end(); ++it) {
        Node value(it->second, where_.child(it->first.Scalar()));
        out.emplace(it->first.Scalar(), value.as_string());
    }
    return out;
}

std::vector<Node> Node::as_list() const {
    std::vector<Node> out;
    if (is_null()) return out;
    if (!yaml_.IsSequence()) fail(fmt::format("must be a list, not {}", kind_of(yaml_)));
    std::size_t i = 0;
    for (const auto& item : yaml_) {
        FieldRef ref = where_.index(i++);
        if (auto m = to_mark(item.Mark())) ref.mark = m;
        out.emplace_back(item, ref);
    }
    return out;
}

MapReader::MapReader(const Node& node, std::vector<Warning>& warnings)
    : where_(node.where()), warnings_(warnings) {
    if (node.is_null()) return;
    if (!node.yaml().IsMap()) node.fail(fmt::format("must be a mapping, not {}", kind_of(node.yaml())));
    for (auto it = node.yaml().begin(); it != node.yaml().end(); ++it) {
        FieldRef ref = where_.child(it->first.Scalar());
        ref.mark = to_mark(it->second.Mark());
        if (!ref.mark) ref.mark = to_mark(it->first.Mark());
        entries_.emplace_back(it->first.Scalar(), Node(it->second, ref));
    }
    taken_.assign(entries_.size(), false);
}

namespace {
thread_local FieldObserver* field_observer = nullptr;
}  // namespace

ScopedFieldObserver::ScopedFieldObserver(FieldObserver& observer) : previous_(field_observer) {
    field_observer = &observer;
}

ScopedFieldObserver::~ScopedFieldObserver() { field_observer = previous_; }

std::string without_indices(std::string_view path) {
    std::string out;
    bool in_index = false;
    for (char c : path) {
        if (c == '[') in_index = true;
        else if (c == ']') in_index = false;
        else if (!in_index) out += c;
    }
    return out;
}

namespace {
std::string generic_child(const FieldRef& parent, std::string_view key) {
    std::string out = without_indices(parent.policy_path());
    if (!out.empty()) out += '.';
    out += key;
    return out;
}
// "spec.template." for a VirtualMachine's template: what the policy path leaves out.
std::string shown_prefix(const FieldRef& where) {
    if (where.policy_offset == 0) return {};
    const std::string full = where.path + ".";
    return without_indices(std::string_view(full).substr(0, std::min(where.policy_offset, full.size())));
}
}  // namespace

std::optional<Node> MapReader::take_key(std::string_view key, bool ignored) {
    if (field_observer != nullptr) field_observer->asked(where_.scope, generic_child(where_, key), ignored);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].first == key) {
            taken_[i] = true;
            if (entries_[i].second.is_null()) return std::nullopt;
            return entries_[i].second;
        }
    }
    return std::nullopt;
}

Node MapReader::require(std::string_view key) {
    if (auto n = take(key)) return *n;
    // `claimname` for `claimName`: the typo is the error, not the absence.
    const std::array<std::string_view, 1> wanted{key};
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (taken_[i] || !closest_name(entries_[i].first, wanted)) continue;
        const auto verdict = judge_untaken(where_.scope, without_indices(where_.policy_path()), entries_[i].first,
                                           shown_prefix(where_));
        if (verdict.refuse) entries_[i].second.fail(verdict.message);
    }
    throw SpecError(where_.child(std::string(key)), "is required");
}

void MapReader::ignore(std::string_view key, std::string_view why) {
    if (auto n = take_key(key, true)) warnings_.push_back({n->where().path, std::string(why)});
}

void MapReader::finish() {
    const std::string parent = without_indices(where_.policy_path());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (taken_[i]) continue;
        const Node& node = entries_[i].second;
        const UntakenVerdict verdict = judge_untaken(where_.scope, parent, entries_[i].first, shown_prefix(where_));
        if (verdict.refuse) node.fail(verdict.message);
        warnings_.push_back({node.where().path, verdict.message});
    }
}

}  // namespace vmi
