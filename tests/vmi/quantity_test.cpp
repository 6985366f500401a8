// Kubernetes quantities: exact values and apimachinery's rules.
#include <catch2/catch.hpp>

#include "vmi/quantity.hpp"

using vmi::Bytes;
using vmi::Quantity;

namespace {
std::optional<std::uint64_t> bytes_of(const char* text) {
    auto q = Quantity::try_parse(text);
    REQUIRE(q.has_value());
    auto b = q->bytes();
    if (!b) return std::nullopt;
    return b->value;
}
}  // namespace

TEST_CASE("quantities convert to exact bytes, rounding up") {
    struct Case {
        const char* text;
        std::uint64_t bytes;
    };
    const Case cases[] = {
        {"0", 0},
        {"1", 1},
        {"1Ki", 1024},
        {"1Mi", 1048576},
        {"1Gi", 1073741824},
        {"1Ti", 1099511627776},
        {"1Pi", 1125899906842624},
        {"1Ei", 1152921504606846976},
        {"1k", 1000},
        {"1M", 1000000},
        {"1G", 1000000000},
        {"1T", 1000000000000},
        {"1P", 1000000000000000},
        {"1E", 1000000000000000000},
        {"1.5Gi", 1610612736},
        {"0.5Ki", 512},
        {"9.7Gi", 10415295693},  // 10415295692.8 rounds up
        {"25761732Ki", 26380013568},
        {"24534983Ki", 25123822592},
        {"23308234Ki", 23867631616},
        {"129e6", 129000000},
        {"129E6", 129000000},
        {"1e3", 1000},
        {"1e+3", 1000},
        {"12e-1", 2},  // 1.2 rounds up
        {"100m", 1},   // 0.1 rounds up
        {"1500m", 2},
        {"1000m", 1},
        {"1n", 1},
        {"1u", 1},
        {"+1Ki", 1024},
        {"007", 7},
        {"1.", 1},
        {".5", 1},
        {"1.000Mi", 1048576},
        {"0.000000000001Ki", 1},
        {" 1Gi ", 1073741824},  // YAML and JSON decoding trim blanks
        {"9223372036854775807", 9223372036854775807ULL},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(bytes_of(c.text) == c.bytes);
    }
}

TEST_CASE("quantities beyond 2^63-1 bytes are refused, not capped") {
    CHECK_FALSE(bytes_of("8Ei").has_value());
    CHECK_FALSE(bytes_of("9223372036854775808").has_value());
    CHECK_FALSE(bytes_of("1e19").has_value());
    CHECK_FALSE(bytes_of("1e100000").has_value());
    CHECK(bytes_of("1e-100000") == 1u);
}

TEST_CASE("negative quantities parse but have no byte value") {
    auto q = Quantity::try_parse("-1Gi");
    REQUIRE(q);
    CHECK(q->negative());
    CHECK_FALSE(q->bytes().has_value());
    CHECK(q->scaled_ceil(0) == -1073741824);
    CHECK(Quantity::try_parse("-1.5")->scaled_ceil(0) == -2);  // away from zero, as apimachinery rounds
    CHECK_FALSE(Quantity::try_parse("-0")->negative());
}

TEST_CASE("CPU quantities convert to millicores") {
    CHECK(Quantity::try_parse("1")->millis() == 1000);
    CHECK(Quantity::try_parse("100m")->millis() == 100);
    CHECK(Quantity::try_parse("0.5")->millis() == 500);
    CHECK(Quantity::try_parse("1.0001")->millis() == 1001);
    CHECK(Quantity::try_parse("250u")->millis() == 1);
}

TEST_CASE("malformed quantities are refused with a reason") {
    struct Case {
        const char* text;
        const char* reason;
    };
    const Case cases[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"1.1.M", "not a quantity"},
        {"1+1.0M", "not a quantity"},
        {"0.1mi", "unknown suffix \"mi\""},
        {"0.1am", "not a quantity"},
        {"aoeu", "not a quantity"},
        {".5i", "unknown suffix \"i\""},
        {"1i", "unknown suffix"},
        {"-3.01i", "unknown suffix"},
        {"-3.01e-", "unknown suffix \"e-\""},
        {"1 8", "not a quantity"},
        {"1K", "unknown suffix \"K\""},
        {"1KB", "not a quantity"},
        {"1Gb", "not a quantity"},
        {"25Gx", "not a quantity"},
        {"1e", "unknown suffix \"e\""},
        {"1Kii", "unknown suffix"},
        {"0x10", "not a quantity"},
        {"1_000", "not a quantity"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        std::string why;
        CHECK_FALSE(Quantity::try_parse(c.text, &why).has_value());
        CHECK_THAT(why, Catch::Contains(c.reason));
    }
    std::string why;
    CHECK_FALSE(Quantity::try_parse(std::string(300, '1'), &why));
    CHECK_THAT(why, Catch::Contains("longer than"));
}

TEST_CASE("bytes print in the largest exact binary unit") {
    CHECK(vmi::to_string(Bytes{0}) == "0");
    CHECK(vmi::to_string(vmi::gib(3)) == "3Gi");
    CHECK(vmi::to_string(vmi::mib(1536)) == "1536Mi");
    CHECK(vmi::to_string(Bytes{1000}) == "1000");
    CHECK(vmi::to_human(vmi::mib(1536)) == "1.50 GiB");
}
