#include "vmi/bytes.hpp"

#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace vmi {

void bytes_overflow(const char* operation, std::uint64_t a, std::uint64_t b) {
    throw std::overflow_error(fmt::format("byte count overflow: {} {} {} is more than 2^64 - 1", a, operation, b));
}

void bytes_underflow(std::uint64_t a, std::uint64_t b) {
    throw std::underflow_error(fmt::format("byte count underflow: {} - {} is below zero", a, b));
}

std::string to_string(Bytes b) {
    static constexpr std::array<const char*, 6> units{"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
    if (b.value == 0) return "0";
    for (std::size_t i = 0; i < units.size(); ++i) {
        const unsigned shift = 10 * static_cast<unsigned>(units.size() - i);
        const std::uint64_t unit = std::uint64_t{1} << shift;
        if (b.value % unit == 0) return fmt::format("{}{}", b.value >> shift, units[i]);
    }
    return fmt::format("{}", b.value);
}

std::string to_human(Bytes b) {
    static constexpr std::array<const char*, 5> units{"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b.value);
    std::size_t i = 0;
    while (v >= 1024.0 && i + 1 < units.size()) {
        v /= 1024.0;
        ++i;
    }
    return i == 0 ? fmt::format("{} B", b.value) : fmt::format("{:.2f} {}", v, units[i]);
}

}  // namespace vmi
