// QEMU's balloon statistics (qom-get of the balloon device's `guest-stats`)
// as the balloon policy's input. Pure: it takes the reply, not a socket.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "vmi/balloon_policy.hpp"

namespace qemu_args {

struct GuestStats {
    // `updated` is left absent: QEMU's time is wall-clock seconds, the
    // policy's a monotonic clock; the caller maps one onto the other.
    vmi::BalloonStats stats;
    // `last-update`, seconds since the epoch; absent when the guest has not
    // reported since polling was turned on (QEMU then says 0).
    std::optional<std::int64_t> last_update;
    bool operator==(const GuestStats&) const = default;
};

// The `return` object of {"execute":"qom-get","arguments":{"path":...,
// "property":"guest-stats"}}. QEMU sends 2^64-1 for a statistic the guest
// never reported; that, a missing key, a value of the wrong type or one
// beyond 2^62 bytes comes back absent. Never throws: the reply is QEMU's
// text and must not end the VM.
GuestStats parse_guest_stats(const nlohmann::json& reply);

}  // namespace qemu_args
