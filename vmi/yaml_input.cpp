#include "vmi/yaml_input.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

namespace vmi {
namespace {

std::optional<SourceMark> to_mark(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return std::nullopt;
    return SourceMark{m.line + 1, m.column + 1};
}

SourceMark position_of(std::string_view text, std::size_t offset) {
    SourceMark m{1, 1};
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++m.line;
            m.column = 1;
        } else {
            ++m.column;
        }
    }
    return m;
}

[[noreturn]] void fail_at(std::string_view text, std::size_t offset, const std::string& message) {
    throw SpecError(FieldRef{"", position_of(text, offset)}, message);
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
    }
    if (n == 2 && c < 0xc2) return 0;  // overlong
    // Overlong 3- and 4-byte forms, UTF-16 surrogates, beyond U+10FFFF.
    const auto c1 = n > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (n == 3 && ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90) || c > 0xf4)) return 0;
    return n;
}

// Refuses what is not text before yaml-cpp sees it.
void check_text(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
            fail_at(text, i, fmt::format("input is not text: control byte 0x{:02x}", c));
        }
        std::size_t n = utf8_length(text, i);
        if (n == 0) fail_at(text, i, fmt::format("input is not valid UTF-8: byte 0x{:02x}", c));
        i += n;
    }
}

// A light scan of the raw text, before yaml-cpp sees it, for two things it
// handles badly: flow collections ([ { ) nesting without end, and a quoted
// scalar left open (yaml-cpp 0.7 silently takes the rest of the file).
// Block scalars (| and >) are skipped: their text is not YAML.
class TextScan {
public:
    explicit TextScan(std::string_view text) : text_(text) {}

    void run() {
        std::size_t block_indent = std::string_view::npos;  // inside a block scalar deeper than this
        std::size_t pos = 0;
        while (pos < text_.size()) {
            std::size_t end = text_.find('\n', pos);
            if (end == std::string_view::npos) end = text_.size();
            std::string_view line = text_.substr(pos, end - pos);
            const std::size_t indent = line.find_first_not_of(' ');
            const bool blank = indent == std::string_view::npos || line[indent] == '\r';
            if (block_indent != std::string_view::npos && (blank || indent > block_indent) && !quote_) {
                pos = end + 1;
                continue;
            }
            block_indent = std::string_view::npos;
            if (scan_line(pos, line) && !quote_) block_indent = blank ? 0 : indent;
            pos = end + 1;
        }
        if (quote_) fail_at(text_, quote_at_, "YAML syntax error: quoted string is never closed");
    }

private:
    // Returns true when the line starts a block scalar.
    bool scan_line(std::size_t offset, std::string_view line) {
        char prev = ' ';  // last non-blank character before this one
        bool at_line_start = true;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (quote_) {
                if (c == quote_) {
                    if (quote_ == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
                        ++i;  // '' is an escaped quote
                    } else {
                        quote_ = 0;
                    }
                } else if (c == '\\' && quote_ == '"') {
                    ++i;
                }
                prev = c;
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\r') continue;
            const bool value_start = at_line_start || prev == ':' || prev == '-' || prev == '[' || prev == '{' ||
                                     prev == ',' || prev == '?';
            if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return false;
            if ((c == '"' || c == '\'') && value_start) {
                quote_ = c;
                quote_at_ = offset + i;
            } else if ((c == '|' || c == '>') && value_start && block_header_ends(line.substr(i + 1))) {
                return true;
            } else if (c == '[' || c == '{') {
                if (++depth_ > max_nesting) {
                    fail_at(text_, offset + i, fmt::format("input nests deeper than {} levels", max_nesting));
                }
            } else if ((c == ']' || c == '}') && depth_ > 0) {
                --depth_;
            }
            prev = c;
            at_line_start = false;
        }
        return false;
    }

    // After | or >: optional indentation and chomping indicators, then only
    // blanks or a comment.
    static bool block_header_ends(std::string_view rest) {
        std::size_t i = 0;
        while (i < rest.size() && (rest[i] == '-' || rest[i] == '+' || (rest[i] >= '1' && rest[i] <= '9'))) ++i;
        while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\r')) ++i;
        return i == rest.size() || rest[i] == '#';
    }

    std::string_view text_;
    int depth_ = 0;
    char quote_ = 0;
    std::size_t quote_at_ = 0;
};

// Walks the whole tree: duplicate keys are errors, and so are deep nesting
// and trees that aliases blow up beyond any real VMI.
class TreeCheck {
public:
    void walk(const YAML::Node& node, int depth) {
        if (++visited_ > limits::expanded_nodes) {
            throw SpecError(FieldRef{"", to_mark(node.Mark())},
                            fmt::format("input expands to more than {} nodes once its aliases are followed",
                                        limits::expanded_nodes));
        }
        if (depth > max_nesting) {
            throw SpecError(FieldRef{"", to_mark(node.Mark())},
                            fmt::format("input nests deeper than {} levels", max_nesting));
        }
        if (node.IsMap()) {
            std::map<std::string, SourceMark> seen;
            for (auto it = node.begin(); it != node.end(); ++it) {
                const auto mark = to_mark(it->first.Mark()).value_or(SourceMark{});
                if (!it->first.IsScalar()) {
                    throw SpecError(FieldRef{"", mark}, "mapping keys must be plain strings");
                }
                const std::string key = it->first.Scalar();
                if (auto [pos, fresh] = seen.emplace(key, mark); !fresh) {
                    throw SpecError(FieldRef{"", mark},
                                    fmt::format("duplicate key \"{}\" (first at line {})", key, pos->second.line));
                }
                walk(it->second, depth + 1);
            }
        } else if (node.IsSequence()) {
            for (const auto& item : node) walk(item, depth + 1);
        }
    }

private:
    std::size_t visited_ = 0;
};

// A pass over the parser's events, before any node is built: counts the
// nodes, the items of each list and the keys of each mapping against
// vmi/limits.hpp, and notes where each document starts. The field path of
// a collection is tracked so a refusal can say which list is too long.
// yaml-cpp 0.7 reports a new, empty document forever when a top-level flow
// collection or quoted scalar is followed by ',' (YAML::LoadAll then
// allocates until it fails): the caller stops at the second document.
class EventBudget : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> documents;

    void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back(mark); }
    void OnDocumentEnd() override { open_.clear(); }
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, nullptr); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string& value) override {
        node(mark, &value);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        open(mark, false);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        open(mark, true);
    }
    void OnMapEnd() override { close(); }

private:
    struct Open {
        bool map = false;
        std::size_t events = 0;  // children so far (a mapping's keys and values both count)
        std::string path;
        std::string key;  // a mapping's last key, for its value's path
    };

    // The path of the node about to start, from the collection around it.
    std::string child_path() const {
        if (open_.empty()) return "";
        const Open& parent = open_.back();
        if (!parent.map) return fmt::format("{}[{}]", parent.path, parent.events);
        return parent.path.empty() ? parent.key : parent.path + "." + parent.key;
    }

    // One node: counted in the document and in the collection holding it.
    void node(const YAML::Mark& mark, const std::string* scalar) {
        if (++nodes_ > limits::yaml_nodes) {
            throw SpecError(FieldRef{"", to_mark(mark)},
                            fmt::format("input has more than {} YAML nodes, the limit", limits::yaml_nodes));
        }
        if (!open_.empty()) count_in(open_.back(), mark, scalar);
    }

    void open(const YAML::Mark& mark, bool map) {
        std::string path = child_path();
        node(mark, nullptr);
        open_.push_back({map, 0, std::move(path), {}});
    }

    void count_in(Open& parent, const YAML::Mark& mark, const std::string* scalar) {
        if (parent.map && parent.events % 2 == 0) {
            parent.key = scalar ? *scalar : "?";
            if (parent.events / 2 + 1 > limits::map_keys) {
                throw SpecError(FieldRef{parent.path, to_mark(mark)},
                                fmt::format("a mapping of more than {} keys, the limit", limits::map_keys));
            }
        } else if (!parent.map && parent.events + 1 > limits::list_items) {
            throw SpecError(FieldRef{parent.path, to_mark(mark)},
                            fmt::format("a list of more than {} items, the limit", limits::list_items));
        }
        ++parent.events;
    }

    void close() {
        if (!open_.empty()) open_.pop_back();
    }

    std::vector<Open> open_;
    std::size_t nodes_ = 0;
};

// Runs the event budget over the first two documents at most; returns the
// mark of the second document, if the text holds more than one.
std::optional<YAML::Mark> check_events(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    EventBudget budget;
    for (int i = 0; i < 2 && parser.HandleNextDocument(budget); ++i) {
    }
    if (budget.documents.size() < 2) return std::nullopt;
    return budget.documents[1];
}

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
    check_text(body);
    TextScan(body).run();
    const std::string yaml(body);
    YAML::Node doc;
    std::optional<YAML::Mark> second;
    try {
        second = check_events(yaml);
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
    TreeCheck{}.walk(doc, 0);
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

std::optional<Node> MapReader::take(std::string_view key) {
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
    throw SpecError(where_.child(std::string(key)), "is required");
}

void MapReader::ignore(std::string_view key, std::string_view why) {
    if (auto n = take(key)) warnings_.push_back({n->where().path, std::string(why)});
}

namespace {
// `spec.volumes[2].containerDisk` -> `spec.volumes.containerDisk`
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
}  // namespace

void MapReader::finish() {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (taken_[i]) continue;
        const Node& node = entries_[i].second;
        const std::string generic = without_indices(node.where().path);
        if (auto policy = policy_for(generic)) {
            if (policy->action == Unacted::reject) node.fail(std::string(policy->reason));
            warnings_.push_back({node.where().path, std::string(policy->reason)});
        } else if (generic.starts_with("spec")) {
            node.fail("unknown field (not part of the KubeVirt API this launcher reads)");
        } else {
            warnings_.push_back({node.where().path, "unknown field, ignored"});
        }
    }
}

}  // namespace vmi
