#include "vmi/field_table.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "vmi/field_annotations.hpp"
#include "vmi/field_policy.hpp"
#include "vmi/kubevirt_api.hpp"

namespace vmi {
namespace {

std::string_view parent_of(std::string_view path) {
    const auto dot = path.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

std::string_view name_of(std::string_view path) {
    const auto dot = path.rfind('.');
    return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string where(PolicyScope scope, std::string_view path) {
    return scope == PolicyScope::virtual_machine ? fmt::format("VirtualMachine `{}`", path)
                                                 : fmt::format("`{}`", path);
}

// Markdown cells hold no '|'.
std::string cell(std::string_view text) {
    std::string out;
    for (char c : text) out += c == '|' ? '/' : c;
    return out;
}

std::string summary() {
    std::map<Handling, std::size_t> counts;
    std::size_t removed = 0;
    for (const auto& f : kubevirt_api_fields()) {
        if (const auto* c = classify(f.scope, f.path)) ++counts[c->handling];
        if (!f.current()) ++removed;
    }
    return fmt::format(
        "{} field paths of KubeVirt's VirtualMachineInstance and VirtualMachine, {} of them from releases before "
        "today's API: {} acted on, {} warned about, {} refused (a field under a warned or refused one counts as "
        "its parent).\n",
        kubevirt_api_fields().size(), removed, counts[Handling::acted], counts[Handling::warn],
        counts[Handling::reject]);
}

}  // namespace

std::string field_table_markdown() {
    std::string out = summary();
    out += "\n| KubeVirt field | vmi-launcher | Why, or what to use instead |\n|---|---|---|\n";
    // Acted-on fields are grouped under their parent, in table order.
    std::vector<std::pair<PolicyScope, std::string_view>> parents;
    std::map<std::pair<PolicyScope, std::string_view>, std::vector<std::string_view>> children;
    for (const auto& e : field_classes()) {
        if (e.handling != Handling::acted) continue;
        const std::pair key{e.scope, parent_of(e.path)};
        if (!children.contains(key)) parents.push_back(key);
        children[key].push_back(name_of(e.path));
    }
    for (const auto& key : parents) {
        std::string names;
        for (const auto n : children[key]) names += fmt::format("{}`{}`", names.empty() ? "" : ", ", n);
        const std::string holder = key.second.empty() ? "top level" : where(key.first, key.second);
        out += fmt::format("| {}: {} | acted on | |\n", holder, names);
    }
    for (const auto& e : field_classes()) {
        if (e.handling == Handling::acted) continue;
        out += fmt::format("| {} | {} | {} |\n", where(e.scope, e.path),
                           e.handling == Handling::warn ? "warned, ignored" : "refused", cell(e.reason));
    }
    for (const auto& a : unacted_annotations()) {
        out += fmt::format("| annotation `{}{}` | warned, ignored | {} |\n", a.key, a.key.ends_with('/') ? "*" : "",
                           cell(a.effect));
    }
    return out;
}

std::string with_field_table(std::string_view readme, std::string_view table) {
    const auto begin = readme.find(field_table_begin);
    const auto end = readme.find(field_table_end);
    if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) return {};
    const auto body = begin + field_table_begin.size();
    return fmt::format("{}\n{}{}", readme.substr(0, body), table, readme.substr(end));
}

}  // namespace vmi
