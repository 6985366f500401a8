// The bounds a VMI's YAML is held to before and while yaml-cpp reads it:
// text that is not UTF-8, flow nesting and open quotes (a scan of the raw
// text), the number of nodes, list items and mapping keys (a pass over the
// parser's events, before any tree is built), and after the tree is built,
// duplicate keys and alias expansion.
#include "vmi/yaml_bounds.hpp"

#include <map>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include "vmi/limits.hpp"

namespace vmi::detail {

constexpr int max_nesting = limits::nesting;

std::optional<SourceMark> to_mark(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return std::nullopt;
    return SourceMark{m.line + 1, m.column + 1};
}

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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


void scan_text(std::string_view text) { TextScan(text).run(); }

void check_tree(const YAML::Node& doc) { TreeCheck{}.walk(doc, 0); }

}  // namespace vmi::detail
