// Fuzz target: Kubernetes quantities. Besides crashes and undefined
// behaviour, it checks that the conversions agree with each other: a
// non-negative quantity's bytes are its thousandths divided by 1000,
// rounded up, whenever both fit, and the text is kept as written (less
// the surrounding blanks that YAML and JSON decoding trim).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vmi/quantity.hpp"

namespace {

[[noreturn]] void finding(const char* what, std::string_view text) {
    std::fprintf(stderr, "quantity-fuzzer: %s for \"%.*s\"\n", what, static_cast<int>(text.size()), text.data());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string why;
    const auto q = vmi::Quantity::try_parse(text, &why);
    if (!q) {
        if (why.empty()) finding("refused without a reason", text);
        return 0;
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    if (first == std::string_view::npos || q->text() != text.substr(first, last - first + 1)) {
        finding("the text changed", text);
    }
    const auto bytes = q->bytes();
    const auto millis = q->millis();
    if (q->negative()) {
        if (bytes || millis) finding("a negative quantity converted", text);
        return 0;
    }
    if (q->is_zero() && (bytes != vmi::Bytes{0} || millis != 0)) finding("zero is not zero", text);
    if (bytes && millis) {
        const std::uint64_t from_millis = static_cast<std::uint64_t>(*millis) / 1000 + (*millis % 1000 != 0 ? 1 : 0);
        if (from_millis != bytes->value) finding("bytes and thousandths disagree", text);
    }
    if (millis && !bytes) finding("thousandths fit but bytes do not", text);
    for (int scale : {-9, -3, 0, 3, 9, 18}) (void)q->scaled_ceil(scale);
    const auto again = vmi::Quantity::try_parse(text);
    if (!again || again->bytes() != bytes || again->millis() != millis) finding("parsing is not deterministic", text);
    return 0;
}
