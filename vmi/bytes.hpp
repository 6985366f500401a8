// A count of bytes: the one unit every memory figure in the plan is kept in.
// Its arithmetic is checked: a sum past 2^64 - 1 throws std::overflow_error
// and a difference below zero std::underflow_error, never a wrapped value.
// Validation bounds every input (vmi/limits.hpp) so that a valid VMI never
// gets there; the check keeps a missed bound from becoming a wrong plan.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace vmi {

// Thrown by the checked operations below, with both operands in the message.
[[noreturn]] void bytes_overflow(const char* operation, std::uint64_t a, std::uint64_t b);
[[noreturn]] void bytes_underflow(std::uint64_t a, std::uint64_t b);

struct Bytes {
    std::uint64_t value = 0;

    constexpr auto operator<=>(const Bytes&) const = default;
    constexpr Bytes operator+(Bytes other) const {
        std::uint64_t sum = 0;
        if (__builtin_add_overflow(value, other.value, &sum)) bytes_overflow("+", value, other.value);
        return {sum};
    }
    constexpr Bytes operator-(Bytes other) const {
        if (other.value > value) bytes_underflow(value, other.value);
        return {value - other.value};
    }
    constexpr Bytes& operator+=(Bytes other) { return *this = *this + other; }
};

// n x b, checked.
constexpr Bytes times(std::uint64_t n, Bytes b) {
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(n, b.value, &product)) bytes_overflow("x", n, b.value);
    return {product};
}

constexpr Bytes kib(std::uint64_t n) { return times(n, Bytes{std::uint64_t{1} << 10}); }
constexpr Bytes mib(std::uint64_t n) { return times(n, Bytes{std::uint64_t{1} << 20}); }
constexpr Bytes gib(std::uint64_t n) { return times(n, Bytes{std::uint64_t{1} << 30}); }

// Rounds up to a multiple of `unit` (a power of two or not), checked.
constexpr Bytes round_up(Bytes b, std::uint64_t unit) {
    const Bytes ceiling = b + Bytes{unit - 1};
    return {ceiling.value / unit * unit};
}

// "256Mi (268435456 bytes)"-style text for humans: the largest binary unit
// that divides the value exactly, else the plain byte count.
std::string to_string(Bytes b);

// "1.50 GiB"-style approximate text for humans.
std::string to_human(Bytes b);

}  // namespace vmi
