#include "cgroups/stats.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"

namespace cgroups {

namespace fs = std::filesystem;

namespace {

template <typename T, typename F>
T parse_file(const fs::path& file, const std::string& text, F&& parse) {
    try {
        return parse(text);
    } catch (const ParseError& e) {
        throw ParseError(file.string() + ": " + e.what());
    }
}

std::uint64_t counter(const fs::path& file) {
    return parse_file<std::uint64_t>(file, read_text(file), parse_counter);
}

std::optional<std::uint64_t> optional_counter(const fs::path& file) {
    const auto text = try_read_text(file);
    if (!text) return std::nullopt;
    return parse_file<std::uint64_t>(file, *text, parse_counter);
}

std::optional<std::uint64_t> limit(const fs::path& file) {
    const auto text = try_read_text(file);
    if (!text) return std::nullopt;
    return parse_file<std::optional<std::uint64_t>>(file, *text, parse_limit);
}

std::uint64_t stat_value(const FlatKeyed& stat, std::string_view key) {
    const auto it = stat.find(key);
    return it == stat.end() ? 0 : it->second;
}

}  // namespace

MemoryStats read_stats(Version version, const fs::path& dir) {
    const auto stat_file = dir / "memory.stat";
    const auto stat = parse_file<FlatKeyed>(stat_file, read_text(stat_file), parse_memory_stat);
    MemoryStats s;
    s.events = read_event_counts(version, dir);
    if (version == Version::v1) {
        s.usage_bytes = counter(dir / "memory.usage_in_bytes");
        s.peak_bytes = counter(dir / "memory.max_usage_in_bytes");
        s.limit_bytes = limit(dir / "memory.limit_in_bytes");
        s.anon_bytes = stat_value(stat, "rss");
        s.file_bytes = stat_value(stat, "cache");
    } else {
        s.usage_bytes = counter(dir / "memory.current");
        s.peak_bytes = optional_counter(dir / "memory.peak");
        s.limit_bytes = limit(dir / "memory.max");
        s.high_bytes = limit(dir / "memory.high");
        s.anon_bytes = stat_value(stat, "anon");
        s.file_bytes = stat_value(stat, "file");
    }
    return s;
}

}  // namespace cgroups
