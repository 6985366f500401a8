#include "cgroups/parse.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace cgroups {

namespace {

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// Calls f(line, line_number) for each non-empty line.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
    std::size_t number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        if (!trim(line).empty()) f(line, number);
    }
}

std::vector<std::string_view> split(std::string_view s, char separator) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = s.find(separator);
        parts.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return parts;
        s.remove_prefix(at + 1);
    }
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> words;
    for (auto word : split(s, ' '))
        if (!word.empty()) words.push_back(word);
    return words;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return value;
}

[[noreturn]] void fail(std::size_t line, std::string_view content, std::string_view why) {
    throw ParseError("line " + std::to_string(line) + ": \"" + std::string(content) + "\" " +
                     std::string(why));
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                        s.begin() + static_cast<std::ptrdiff_t>(i) + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> to_strings(const std::vector<std::string_view>& views) {
    return {views.begin(), views.end()};
}

}  // namespace

std::vector<CgroupEntry> parse_proc_self_cgroup(std::string_view text) {
    std::vector<CgroupEntry> entries;
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        // The path may itself contain ':', so split at the first two only.
        const auto first = line.find(':');
        const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos) fail(number, line, "is not \"id:controllers:path\"");
        const auto id = to_u64(line.substr(0, first));
        if (!id || *id > std::numeric_limits<unsigned>::max())
            fail(number, line, "has no hierarchy number");
        CgroupEntry entry;
        entry.hierarchy_id = static_cast<unsigned>(*id);
        const auto controllers = line.substr(first + 1, second - first - 1);
        if (!controllers.empty()) entry.controllers = to_strings(split(controllers, ','));
        entry.path = std::string(line.substr(second + 1));
        if (entry.path.empty() || entry.path.front() != '/')
            fail(number, line, "has no absolute cgroup path");
        entries.push_back(std::move(entry));
    });
    return entries;
}

bool MountEntry::read_only() const {
    const auto ro = [](const std::vector<std::string>& options) {
        return std::find(options.begin(), options.end(), "ro") != options.end();
    };
    return ro(mount_options) || ro(super_options);
}

bool MountEntry::has_super_option(std::string_view option) const {
    return std::find(super_options.begin(), super_options.end(), option) != super_options.end();
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> mounts;
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        // id parent major:minor root mount-point options [optional...] - type source super-options
        const auto fields = split_words(line);
        const auto dash = std::find(fields.begin(), fields.end(), "-");
        if (dash == fields.end() || dash - fields.begin() < 6 || fields.end() - dash < 3)
            fail(number, line, "is not a mountinfo line");
        MountEntry mount;
        mount.root = unescape_octal(fields[3]);
        mount.mount_point = unescape_octal(fields[4]);
        mount.mount_options = to_strings(split(fields[5], ','));
        mount.fs_type = std::string(dash[1]);
        mount.source = unescape_octal(dash[2]);
        if (dash + 3 != fields.end()) mount.super_options = to_strings(split(dash[3], ','));
        mounts.push_back(std::move(mount));
    });
    return mounts;
}

FlatKeyed parse_flat_keyed(std::string_view text) {
    FlatKeyed values;
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        const auto words = split_words(trim(line));
        if (words.size() != 2) fail(number, line, "is not \"key value\"");
        const auto value = to_u64(words[1]);
        if (!value) fail(number, line, "has no unsigned number");
        values.insert_or_assign(std::string(words[0]), *value);
    });
    return values;
}

namespace {

std::uint64_t value_or_zero(const FlatKeyed& values, std::string_view key) {
    const auto it = values.find(key);
    return it == values.end() ? 0 : it->second;
}

}  // namespace

MemoryEvents parse_memory_events(std::string_view text) {
    const auto values = parse_flat_keyed(text);
    return MemoryEvents{
        .low = value_or_zero(values, "low"),
        .high = value_or_zero(values, "high"),
        .max = value_or_zero(values, "max"),
        .oom = value_or_zero(values, "oom"),
        .oom_kill = value_or_zero(values, "oom_kill"),
        .oom_group_kill = value_or_zero(values, "oom_group_kill"),
    };
}

OomControl parse_oom_control(std::string_view text) {
    const auto values = parse_flat_keyed(text);
    if (!values.contains("oom_kill_disable") || !values.contains("under_oom"))
        throw ParseError("no oom_kill_disable or under_oom line");
    OomControl control;
    control.oom_kill_disable = values.at("oom_kill_disable") != 0;
    control.under_oom = values.at("under_oom") != 0;
    if (const auto it = values.find("oom_kill"); it != values.end()) control.oom_kill = it->second;
    return control;
}

FlatKeyed parse_memory_stat(std::string_view text) { return parse_flat_keyed(text); }

std::uint64_t parse_counter(std::string_view text) {
    const auto value = to_u64(trim(text));
    if (!value) throw ParseError("\"" + std::string(trim(text)) + "\" is not an unsigned number");
    return *value;
}

std::optional<std::uint64_t> parse_limit(std::string_view text) {
    // v1 stores "no limit" as PAGE_COUNTER_MAX pages: LONG_MAX rounded down
    // to the page size (9223372036854771712 with 4 KiB pages).
    constexpr std::uint64_t v1_unlimited_floor = 0x7fff'ffff'ffe0'0000;
    if (trim(text) == "max") return std::nullopt;
    const auto value = parse_counter(text);
    if (value >= v1_unlimited_floor) return std::nullopt;
    return value;
}

std::vector<pid_t> parse_pids(std::string_view text) {
    std::vector<pid_t> pids;
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        const auto value = to_u64(trim(line));
        if (!value || *value == 0 || *value > static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max()))
            fail(number, line, "is not a process id");
        pids.push_back(static_cast<pid_t>(*value));
    });
    return pids;
}

std::vector<std::string> parse_controllers(std::string_view text) {
    std::vector<std::string> names;
    for (auto line_word : split_words(trim(text)))
        for (auto word : split(line_word, '\n'))
            if (!word.empty()) names.emplace_back(word);
    return names;
}

}  // namespace cgroups
