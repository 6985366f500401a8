// A count of bytes: the one unit every memory figure in the plan is kept in.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace vmi {

struct Bytes {
    std::uint64_t value = 0;

    constexpr auto operator<=>(const Bytes&) const = default;
    constexpr Bytes operator+(Bytes other) const { return {value + other.value}; }
    constexpr Bytes operator-(Bytes other) const { return {value - other.value}; }
    constexpr Bytes& operator+=(Bytes other) {
        value += other.value;
        return *this;
    }
};

constexpr Bytes kib(std::uint64_t n) { return {n << 10}; }
constexpr Bytes mib(std::uint64_t n) { return {n << 20}; }
constexpr Bytes gib(std::uint64_t n) { return {n << 30}; }

// Rounds up to a multiple of `unit` (a power of two or not).
constexpr Bytes round_up(Bytes b, std::uint64_t unit) {
    return {(b.value + unit - 1) / unit * unit};
}

// "256Mi (268435456 bytes)"-style text for humans: the largest binary unit
// that divides the value exactly, else the plain byte count.
std::string to_string(Bytes b);

// "1.50 GiB"-style approximate text for humans.
std::string to_human(Bytes b);

}  // namespace vmi
