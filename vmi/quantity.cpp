#include "vmi/quantity.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace vmi {
namespace {

// A small unsigned big integer in base 10^9, enough for exact rounding of
// quantities whose text is a few hundred characters at most.
class BigUint {
public:
    static constexpr std::uint32_t base = 1'000'000'000;

    explicit BigUint(std::string_view decimal_digits) {
        for (char c : decimal_digits) {
            mul_add(10, static_cast<std::uint32_t>(c - '0'));
        }
    }

    void mul_add(std::uint32_t mul, std::uint32_t add) {
        std::uint64_t carry = add;
        for (auto& limb : limbs_) {
            std::uint64_t v = std::uint64_t{limb} * mul + carry;
            limb = static_cast<std::uint32_t>(v % base);
            carry = v / base;
        }
        while (carry != 0) {
            limbs_.push_back(static_cast<std::uint32_t>(carry % base));
            carry /= base;
        }
    }

    // Divides in place, returns the remainder.
    std::uint32_t div(std::uint32_t d) {
        std::uint64_t rem = 0;
        for (auto it = limbs_.rbegin(); it != limbs_.rend(); ++it) {
            std::uint64_t v = rem * base + *it;
            *it = static_cast<std::uint32_t>(v / d);
            rem = v % d;
        }
        while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
        return static_cast<std::uint32_t>(rem);
    }

    // The value when it is at most `max`.
    std::optional<std::uint64_t> to_u64(std::uint64_t max) const {
        std::uint64_t v = 0;
        for (auto it = limbs_.rbegin(); it != limbs_.rend(); ++it) {
            if (v > (max - *it) / base) return std::nullopt;
            v = v * base + *it;
        }
        return v;
    }

private:
    std::vector<std::uint32_t> limbs_;
};

constexpr std::size_t max_text = 256;
constexpr std::int64_t max_int64 = std::numeric_limits<std::int64_t>::max();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct Suffix {
    int dec_exp;
    int bin_exp;
};

// apimachinery's suffix table plus its decimal exponent form.
std::optional<Suffix> interpret_suffix(std::string_view s) {
    static constexpr std::array<std::pair<std::string_view, Suffix>, 16> table{{
        {"", {0, 0}},    {"n", {-9, 0}},  {"u", {-6, 0}},  {"m", {-3, 0}},
        {"k", {3, 0}},   {"M", {6, 0}},   {"G", {9, 0}},   {"T", {12, 0}},
        {"P", {15, 0}},  {"E", {18, 0}},  {"Ki", {0, 10}}, {"Mi", {0, 20}},
        {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}}, {"Ei", {0, 60}},
    }};
    for (const auto& [name, value] : table) {
        if (name == s) return value;
    }
    if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
        std::string_view rest = s.substr(1);
        if (rest.front() == '+') rest.remove_prefix(1);
        std::int64_t exp = 0;
        auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), exp);
        if (ec != std::errc{} || end != rest.data() + rest.size()) return std::nullopt;
        // apimachinery keeps the exponent as int32; beyond a few hundred
        // either way the value is zero-ish or overflows anyway.
        if (exp > 100000 || exp < -100000) return std::nullopt;
        return Suffix{static_cast<int>(exp), 0};
    }
    return std::nullopt;
}

}  // namespace

std::optional<Quantity> Quantity::try_parse(std::string_view text, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<Quantity> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    // YAML and JSON decoding of a Quantity trims surrounding blanks.
    auto first = text.find_first_not_of(" \t\r\n");
    auto last = text.find_last_not_of(" \t\r\n");
    std::string_view s = first == std::string_view::npos ? std::string_view{} : text.substr(first, last - first + 1);

    if (s.empty()) return fail("is empty");
    if (s.size() > max_text) return fail(fmt::format("is longer than {} characters", max_text));

    Quantity q;
    q.text_ = std::string(s);
    std::size_t pos = 0;
    if (s[pos] == '-' || s[pos] == '+') {
        q.negative_ = s[pos] == '-';
        ++pos;
    }
    std::size_t int_begin = pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    std::string_view int_part = s.substr(int_begin, pos - int_begin);
    std::string_view frac_part;
    if (pos < s.size() && s[pos] == '.') {
        std::size_t frac_begin = ++pos;
        while (pos < s.size() && is_digit(s[pos])) ++pos;
        frac_part = s.substr(frac_begin, pos - frac_begin);
    }
    // The suffix: letters from apimachinery's set, an optional sign, digits.
    std::size_t suffix_begin = pos;
    while (pos < s.size() && std::string_view("eEinumkKMGTP").find(s[pos]) != std::string_view::npos) ++pos;
    if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    if (pos != s.size()) {
        return fail("is not a quantity (expected a number with an optional suffix such as Mi, Gi, M or G)");
    }
    std::string_view suffix_text = s.substr(suffix_begin);
    auto suffix = interpret_suffix(suffix_text);
    if (!suffix) {
        return fail(fmt::format("has an unknown suffix \"{}\" (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E, m, or e<N>)",
                                suffix_text));
    }

    std::string digits = std::string(int_part) + std::string(frac_part);
    int dec_exp = suffix->dec_exp - static_cast<int>(frac_part.size());
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
    while (!digits.empty() && digits.back() == '0') {
        digits.pop_back();
        ++dec_exp;
    }
    q.dec_exp_ = dec_exp;
    q.bin_exp_ = suffix->bin_exp;
    q.digits_ = std::move(digits);
    return q;
}

std::optional<std::int64_t> Quantity::scaled_ceil(int scale) const {
    if (digits_.empty()) return 0;
    const int e = dec_exp_ + scale;
    const auto len = static_cast<int>(digits_.size());
    BigUint n(digits_);
    for (int i = 0; i < bin_exp_; ++i) n.mul_add(2, 0);
    std::optional<std::uint64_t> magnitude;
    if (e >= 0) {
        // At least 10^(len+e-1): past 10^19 it cannot fit.
        if (len + e > 20) return std::nullopt;
        for (int i = 0; i < e; ++i) n.mul_add(10, 0);
        magnitude = n.to_u64(max_int64);
    } else if (-e >= len + 19) {
        magnitude = 1;  // below one (digits * 2^60 < 10^(len+19)), rounds up to 1
    } else {
        bool inexact = false;
        for (int i = 0; i < -e; ++i) inexact |= n.div(10) != 0;
        magnitude = n.to_u64(max_int64 - 1);
        if (magnitude && inexact) ++*magnitude;  // round away from zero, as apimachinery does
    }
    if (!magnitude) return std::nullopt;
    auto v = static_cast<std::int64_t>(*magnitude);
    return negative_ ? -v : v;
}

std::optional<Bytes> Quantity::bytes() const {
    if (negative()) return std::nullopt;
    auto v = scaled_ceil(0);
    if (!v) return std::nullopt;
    return Bytes{static_cast<std::uint64_t>(*v)};
}

std::optional<std::int64_t> Quantity::millis() const {
    if (negative()) return std::nullopt;
    return scaled_ceil(3);
}

}  // namespace vmi
