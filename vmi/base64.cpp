#include "vmi/base64.hpp"

#include <array>

namespace vmi {
namespace {
constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
    auto pos = alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}
}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    std::string clean;
    for (char c : text) {
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean += c;
    }
    if (clean.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < clean.size(); i += 4) {
        std::array<int, 4> v{};
        int pad = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = clean[i + k];
            if (c == '=' && i + 4 == clean.size() && k >= 2) {
                ++pad;
                v[k] = 0;
                continue;
            }
            if (pad > 0) return std::nullopt;  // data after padding
            v[k] = value_of(c);
            if (v[k] < 0) return std::nullopt;
        }
        const unsigned triple = (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
        out += static_cast<char>((triple >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((triple >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(triple & 0xff);
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        unsigned triple = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) triple |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) triple |= static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[(triple >> 18) & 63];
        out += alphabet[(triple >> 12) & 63];
        out += i + 1 < bytes.size() ? alphabet[(triple >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? alphabet[triple & 63] : '=';
    }
    return out;
}

}  // namespace vmi
