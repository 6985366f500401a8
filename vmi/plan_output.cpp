#include "vmi/plan_output.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace vmi {
namespace {

nlohmann::ordered_json bytes_or_null(const std::optional<Bytes>& b) {
    return b ? nlohmann::ordered_json(b->value) : nlohmann::ordered_json(nullptr);
}

// Printable multi-line text that ends with one newline reads back the same
// from a literal block.
bool literal_safe(const std::string& s) {
    if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n' || s.front() == ' ') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return c == '\n' || c == '\t' || static_cast<unsigned char>(c) >= 0x20;
    }) && s.find('\x7f') == std::string::npos;
}

// Block YAML; text with line breaks as a literal block, every other string
// quoted so no value changes type on the way back.
void emit(YAML::Emitter& out, const nlohmann::ordered_json& v) {
    if (v.is_object() && v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    } else if (v.is_object()) {
        out << YAML::BeginMap;
        for (const auto& [k, item] : v.items()) {
            out << YAML::Key << k << YAML::Value;
            emit(out, item);
        }
        out << YAML::EndMap;
    } else if (v.is_array()) {
        out << YAML::BeginSeq;
        for (const auto& item : v) emit(out, item);
        out << YAML::EndSeq;
    } else if (v.is_null()) {
        out << YAML::Null;
    } else if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (literal_safe(s)) {
            out << YAML::Literal << s;
        } else {
            out << YAML::DoubleQuoted << s;
        }
    } else {
        out << v.dump();
    }
}

std::string row(std::string_view label, std::string_view value) { return fmt::format("  {:<22} {}\n", label, value); }

std::string show(Bytes b) { return fmt::format("{:>14} bytes  {:>12}", b.value, to_human(b)); }

std::string show(const std::optional<Bytes>& b) { return b ? show(*b) : std::string("none"); }

}  // namespace

nlohmann::ordered_json plan_to_json(const VmiSpec& spec, const MemoryPlan& p) {
    nlohmann::ordered_json j;
    j["vmi"] = {{"namespace", spec.metadata.namespace_name}, {"name", spec.metadata.name}};
    j["overhead_model"] = to_string(p.options.model);
    j["accel"] = to_string(p.options.accel);
    j["memory_overcommit_percent"] = p.options.memory_overcommit_percent;
    if (is_kubevirt(p.options.model)) j["overhead_ratio"] = p.options.overhead_ratio;
    j["guest_requested_bytes"] = p.guest_requested.value;
    j["guest_bytes"] = p.guest.value;
    j["guest_rounding"] = "rounded up to a whole MiB (QEMU -m in MiB, as libvirt does)";
    j["request_bytes"] = p.request.value;
    j["limit_bytes"] = bytes_or_null(p.limit);
    j["commitment"] = to_string(p.commitment);
    j["overhead_bytes"] = p.overhead.value;
    nlohmann::ordered_json terms = nlohmann::ordered_json::object();
    for (const auto& t : p.overhead_terms) terms[t.name] = t.bytes.value;
    j["overhead_terms"] = terms;
    j["overcommit_guest_overhead"] = p.overcommit_guest_overhead;
    j["pod_request_bytes"] = p.pod_request.value;
    j["pod_limit_bytes"] = bytes_or_null(p.pod_limit);
    j["cgroup_limit_bytes"] = p.cgroup_limit.value;
    j["hugepages_bytes"] = bytes_or_null(p.hugepages);
    j["tcg_tb_size_bytes"] = bytes_or_null(p.tcg_tb_size);
    j["vcpus"] = spec.vcpus();
    j["warnings"] = p.warnings;
    j["balloon"] = {{"mode", p.balloon.enabled ? "auto" : "off"},
                    {"why", p.balloon.why},
                    {"floor_bytes", p.balloon.enabled ? nlohmann::ordered_json(p.balloon.floor.value) : nullptr},
                    {"ceiling_bytes", p.balloon.enabled ? nlohmann::ordered_json(p.balloon.ceiling.value) : nullptr}};
    return j;
}

std::string json_to_yaml(const nlohmann::ordered_json& value) {
    YAML::Emitter out;
    emit(out, value);
    return std::string(out.c_str()) + "\n";
}

std::string plan_to_yaml(const VmiSpec& spec, const MemoryPlan& plan) { return json_to_yaml(plan_to_json(spec, plan)); }

std::string plan_to_table(const VmiSpec& spec, const MemoryPlan& p) {
    std::string out = fmt::format("memory plan for {}/{} (overhead model {}, accel {}, {} vCPU{})\n",
                                  spec.metadata.namespace_name, spec.metadata.name, to_string(p.options.model),
                                  to_string(p.options.accel), spec.vcpus(), spec.vcpus() == 1 ? "" : "s");
    out += row("guest (-m)", show(p.guest));
    if (p.guest != p.guest_requested) out += row("  as written", show(p.guest_requested) + "  (rounded up to MiB)");
    out += row("request", show(p.request));
    out += row("limit", show(p.limit));
    out += row("commitment", to_string(p.commitment));
    out += row("overhead", show(p.overhead));
    for (const auto& t : p.overhead_terms) out += row("  " + t.name, show(t.bytes));
    out += row("pod request", show(p.pod_request) + (p.overcommit_guest_overhead ? "  (overhead not requested)" : ""));
    out += row("pod limit", show(p.pod_limit));
    out += row("cgroup limit", show(p.cgroup_limit));
    if (p.hugepages) out += row("hugepages", show(*p.hugepages));
    if (p.tcg_tb_size) out += row("tcg tb-size", show(*p.tcg_tb_size));
    if (p.balloon.enabled) {
        out += row("balloon", "auto  (" + p.balloon.why + ")");
        out += row("  floor", show(p.balloon.floor));
        out += row("  ceiling", show(p.balloon.ceiling));
    } else {
        out += row("balloon", "off  (" + p.balloon.why + ")");
    }
    for (const auto& w : p.warnings) out += "warning: " + w + "\n";
    return out;
}

}  // namespace vmi
