// Standard base64 (RFC 4648, with padding), as KubeVirt's *Base64 fields use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vmi {

std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

}  // namespace vmi
