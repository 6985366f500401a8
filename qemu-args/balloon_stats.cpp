#include "qemu-args/balloon_stats.hpp"

namespace qemu_args {
namespace {

// No guest has 4 EiB: anything larger is a sentinel or garbage.
constexpr std::uint64_t largest = std::uint64_t{1} << 62;

std::optional<vmi::Bytes> bytes_at(const nlohmann::json& stats, const char* key) {
    const auto it = stats.find(key);
    if (it == stats.end() || !it->is_number_unsigned()) return std::nullopt;
    const auto value = it->get<std::uint64_t>();
    if (value > largest) return std::nullopt;
    return vmi::Bytes{value};
}

}  // namespace

GuestStats parse_guest_stats(const nlohmann::json& reply) {
    GuestStats out;
    if (!reply.is_object()) return out;
    const auto update = reply.find("last-update");
    if (update == reply.end() || !update->is_number_integer() || update->get<std::int64_t>() <= 0) return out;
    out.last_update = update->get<std::int64_t>();
    const auto stats = reply.find("stats");
    if (stats == reply.end() || !stats->is_object()) return out;
    out.stats.available = bytes_at(*stats, "stat-available-memory");
    out.stats.disk_caches = bytes_at(*stats, "stat-disk-caches");
    out.stats.free = bytes_at(*stats, "stat-free-memory");
    return out;
}

}  // namespace qemu_args
