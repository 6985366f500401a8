#include "vmi/kubevirt_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace vmi {
namespace {

using Scope = PolicyScope;
using Kind = ApiField::Kind;

constexpr ApiField fields[] = {
#include "vmi/kubevirt_fields.inc"
};

bool less(const ApiField& a, Scope scope, std::string_view path) {
    return a.scope != scope ? a.scope < scope : a.path < path;
}

// Levenshtein distance over ASCII letters folded to lower case, stopping
// early once it exceeds `limit` (keys are short; the limit keeps it cheap).
std::size_t folded_distance(std::string_view a, std::string_view b, std::size_t limit) {
    if (a.size() > b.size() + limit || b.size() > a.size() + limit) return limit + 1;
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        std::size_t best = row[0];
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
            diag = up;
            best = std::min(best, row[j]);
        }
        if (best > limit) return limit + 1;
    }
    return row[b.size()];
}

}  // namespace

std::span<const ApiField> kubevirt_api_fields() { return fields; }

const ApiField* find_api_field(Scope scope, std::string_view path) {
    const auto* end = std::end(fields);
    const auto* it = std::lower_bound(std::begin(fields), end, path,
                                      [scope](const ApiField& f, std::string_view p) { return less(f, scope, p); });
    if (it != end && it->scope == scope && it->path == path) return it;
    return nullptr;
}

std::optional<std::string> closest_name(std::string_view key, std::span<const std::string_view> candidates) {
    // One edit in a short key, two in a longer one: "claimname", "memroy", "cpus".
    const std::size_t limit = key.size() <= 4 ? 1 : 2;
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (const auto candidate : candidates) {
        const std::size_t d = folded_distance(key, candidate, limit);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best;
}

std::optional<std::string> suggest_api_field(Scope scope, std::string_view parent, std::string_view key) {
    std::vector<std::string_view> siblings;
    for (const auto& f : fields) {
        if (f.scope != scope || f.path.size() <= parent.size()) continue;
        std::string_view rest = f.path;
        if (!parent.empty()) {
            if (!rest.starts_with(parent) || rest[parent.size()] != '.') continue;
            rest.remove_prefix(parent.size() + 1);
        }
        if (rest.find('.') == std::string_view::npos) siblings.push_back(rest);
    }
    return closest_name(key, siblings);
}

}  // namespace vmi
