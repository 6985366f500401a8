// Kubernetes resource quantities with apimachinery's rules:
// <sign><digits>[.<digits>]<suffix>, suffix one of Ki Mi Gi Ti Pi Ei,
// n u m "" k M G T P E, or an exponent e<int> / E<int>.
// The value is kept exactly (no floating point); conversions round up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmi/bytes.hpp"

namespace vmi {

class Quantity {
public:
    // Parses `text`; nullopt with a reason in `why` when it is not a quantity.
    static std::optional<Quantity> try_parse(std::string_view text, std::string* why = nullptr);

    // The text as the user wrote it.
    const std::string& text() const { return text_; }
    bool negative() const { return negative_ && !is_zero(); }
    bool is_zero() const { return digits_.empty(); }

    // ceil(value * 10^scale) as a signed 64-bit integer (rounding away from
    // zero, as apimachinery does); nullopt when it does not fit.
    std::optional<std::int64_t> scaled_ceil(int scale) const;

    // Whole bytes, rounded up; nullopt when negative or above 2^63-1.
    std::optional<Bytes> bytes() const;
    // Thousandths (CPU millicores), rounded up; nullopt when negative or too large.
    std::optional<std::int64_t> millis() const;

    bool operator==(const Quantity& other) const { return text_ == other.text_; }

private:
    std::string text_;
    bool negative_ = false;
    // The significant decimal digits, without leading or trailing zeros;
    // empty means zero.
    std::string digits_;
    int dec_exp_ = 0;  // value = digits * 10^dec_exp * 2^bin_exp
    int bin_exp_ = 0;
};

}  // namespace vmi
