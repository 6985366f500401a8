// The VMI fields KubeVirt copies into its virt-launcher Pod for the
// scheduler and the Pod's DNS (pkg/virt-controller/services/template.go:
// nodeSelector, affinity, tolerations, topologySpreadConstraints,
// schedulerName, priorityClassName, dnsPolicy, dnsConfig, hostname,
// subdomain), with the admission rules of KubeVirt's VMI create admitter
// (pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go)
// and, where the Pod is stricter, Kubernetes' Pod rules, so that a VMI the
// launcher accepts renders a Pod kube-apiserver accepts.
//
// The free-form objects are read as YAML subtrees that load_yaml has
// already bounded (vmi/limits.hpp: nesting, nodes, list and map sizes,
// aliases expanded) and kept as compact JSON text.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vmi/k8s_names.hpp"
#include "vmi/parse_parts.hpp"
#include "vmi/validate.hpp"

namespace vmi::detail {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view for_scheduler =
    "is for the Kubernetes scheduler: `pod` copies it into the Pod; `run` starts the VM on this host and does not "
    "use it";

// KubeVirt's limits on dnsConfig (vmi-create-admitter.go).
constexpr std::size_t max_dns_nameservers = 3;
constexpr std::size_t max_dns_searches = 6;
constexpr std::size_t max_dns_search_chars = 256;

bool is_yaml_null(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

// A scalar as YAML's core schema types it: a plain `3` is a number and a
// plain `true` a boolean, as kubectl reads them; quoted text stays text.
json scalar_to_json(const YAML::Node& y) {
    const std::string& text = y.Scalar();
    const std::string& tag = y.Tag();
    // "?": a plain scalar; "!": a quoted one; an explicit int, bool or null
    // tag is typed as if plain.
    const bool typed = tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:bool" ||
                       tag == "tag:yaml.org,2002:null";
    if (!typed) return text;
    if (is_yaml_null(text)) return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    std::int64_t number = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (ec == std::errc{} && ptr == end) return number;
    return text;
}

json to_json(const YAML::Node& y) {
    if (!y.IsDefined() || y.IsNull()) return nullptr;
    if (y.IsScalar()) return scalar_to_json(y);
    if (y.IsSequence()) {
        json out = json::array();
        for (const auto& item : y) out.push_back(to_json(item));
        return out;
    }
    json out = json::object();
    for (auto it = y.begin(); it != y.end(); ++it) out[it->first.Scalar()] = to_json(it->second);
    return out;
}

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A mapping whose keys are fields of the Kubernetes type `type`.
void check_object(const Node& node, std::string_view type, std::initializer_list<std::string_view> fields) {
    if (!node.yaml().IsMap()) node.fail(fmt::format("must be a mapping (a Kubernetes {})", type));
    for (auto it = node.yaml().begin(); it != node.yaml().end(); ++it) {
        const std::string& key = it->first.Scalar();
        if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
            node.fail(fmt::format("\"{:.60}\" is not a field of a Kubernetes {}", key, type));
        }
    }
}

std::optional<Node> field(const Node& node, const char* key) {
    const YAML::Node value = node.yaml()[key];
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    return Node(value, node.where().child(key));
}

void check_one_of(const Node& node, std::initializer_list<std::string_view> values) {
    const std::string text = node.as_string();
    if (std::find(values.begin(), values.end(), text) != values.end()) return;
    std::string list;
    for (const auto v : values) {
        list += fmt::format("{}{}", list.empty() ? "" : ", ", v.empty() ? std::string_view("\"\"") : v);
    }
    node.fail(fmt::format("\"{:.60}\" is not one of {}", text, list));
}

void check_qualified(const Node& node, std::string_view what) {
    const std::string text = node.as_string();
    if (!is_qualified_name(text)) {
        node.fail(fmt::format("\"{:.80}\" is not a {} (an optional DNS-1123 subdomain and '/', then 1-63 of "
                              "[A-Za-z0-9-_.], alphanumeric at both ends)",
                              text, what));
    }
}

std::string read_affinity(const Node& node) {
    // Read through a MapReader so that a misspelt key gets KubeVirt's
    // unknown-field message with a suggestion; under spec that is an error,
    // so nothing lands in `unused`.
    std::vector<Warning> unused;
    MapReader m(node, unused);
    for (const char* key : {"nodeAffinity", "podAffinity", "podAntiAffinity"}) m.take(key);
    m.finish();
    return compact(to_json(node.yaml()));
}

std::string read_tolerations(const Node& node) {
    json out = to_json(node.yaml());
    std::size_t i = 0;
    for (const Node& t : node.as_list()) {
        check_object(t, "Toleration", {"key", "operator", "value", "effect", "tolerationSeconds"});
        if (auto k = field(t, "key"); k && !k->as_string().empty()) check_qualified(*k, "taint key");
        if (auto o = field(t, "operator")) check_one_of(*o, {"Exists", "Equal"});
        if (auto e = field(t, "effect")) check_one_of(*e, {"", "NoSchedule", "PreferNoSchedule", "NoExecute"});
        // A number in the Pod even when quoted in the VMI.
        if (auto s = field(t, "tolerationSeconds")) out[i]["tolerationSeconds"] = s->as_int(INT64_MIN, INT64_MAX);
        ++i;
    }
    return compact(out);
}

std::string read_topology_spread(const Node& node) {
    json out = to_json(node.yaml());
    std::size_t i = 0;
    for (const Node& c : node.as_list()) {
        check_object(c, "TopologySpreadConstraint",
                     {"maxSkew", "topologyKey", "whenUnsatisfiable", "labelSelector", "minDomains",
                      "nodeAffinityPolicy", "nodeTaintsPolicy", "matchLabelKeys"});
        const auto skew = field(c, "maxSkew");
        if (!skew) c.fail("needs maxSkew");
        out[i]["maxSkew"] = skew->as_int(1, INT32_MAX);
        const auto key = field(c, "topologyKey");
        if (!key) c.fail("needs topologyKey");
        check_qualified(*key, "node label key");
        const auto when = field(c, "whenUnsatisfiable");
        if (!when) c.fail("needs whenUnsatisfiable");
        check_one_of(*when, {"DoNotSchedule", "ScheduleAnyway"});
        if (auto d = field(c, "minDomains")) out[i]["minDomains"] = d->as_int(1, INT32_MAX);
        ++i;
    }
    return compact(out);
}

std::map<std::string, std::string> read_node_selector(const Node& node) {
    auto selector = node.as_string_map();
    for (const auto& [key, value] : selector) {
        const Node entry(node.yaml()[key], node.where().child(key));
        if (!is_qualified_name(key)) {
            entry.fail("the key is not a node label key (an optional DNS-1123 subdomain and '/', then 1-63 of "
                       "[A-Za-z0-9-_.], alphanumeric at both ends)");
        }
        if (!is_label_value(value)) {
            entry.fail(fmt::format("\"{:.80}\" is not a label value (at most 63 of [A-Za-z0-9-_.], alphanumeric "
                                   "at both ends)",
                                   value));
        }
    }
    return selector;
}

bool is_ip_address(const std::string& text) {
    unsigned char buffer[16];
    return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string read_dns_config(const Node& node) {
    check_object(node, "PodDNSConfig", {"nameservers", "searches", "options"});
    if (auto n = field(node, "nameservers")) {
        const auto servers = n->as_list();
        if (servers.size() > max_dns_nameservers) {
            n->fail(fmt::format("{} nameservers; at most {}", servers.size(), max_dns_nameservers));
        }
        for (const Node& s : servers) {
            if (!is_ip_address(s.as_string())) s.fail(fmt::format("\"{:.60}\" is not an IP address", s.as_string()));
        }
    }
    if (auto n = field(node, "searches")) {
        const auto searches = n->as_list();
        if (searches.size() > max_dns_searches) {
            n->fail(fmt::format("{} search domains; at most {}", searches.size(), max_dns_searches));
        }
        std::size_t chars = 0;
        for (const Node& s : searches) {
            const std::string domain = s.as_string();
            chars += domain.size() + (chars ? 1 : 0);
            if (!is_dns1123_subdomain_name(domain)) {
                s.fail(fmt::format("\"{:.60}\" is not a DNS-1123 subdomain", domain));
            }
        }
        if (chars > max_dns_search_chars) {
            n->fail(fmt::format("the search list is {} characters with spaces; at most {}", chars,
                                max_dns_search_chars));
        }
    }
    if (auto n = field(node, "options")) {
        for (const Node& o : n->as_list()) {
            check_object(o, "PodDNSConfigOption", {"name", "value"});
            const auto name = field(o, "name");
            if (!name || name->as_string().empty()) o.fail("an option needs a name");
            if (auto v = field(o, "value")) v->as_string();
        }
    }
    return compact(to_json(node.yaml()));
}

void check_dns_label(const Node& node, const std::string& value, std::string_view why) {
    if (!is_dns1123_label(value)) {
        node.fail(fmt::format("\"{:.80}\" is not a DNS-1123 label (1-63 of [a-z0-9-], alphanumeric at both ends){}",
                              value, why));
    }
}

void check_subdomain(const Node& node, const std::string& value) {
    if (!is_dns1123_subdomain_name(value)) {
        node.fail(fmt::format("\"{:.80}\" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at "
                              "most 253)",
                              value));
    }
}

}  // namespace

void parse_scheduling(MapReader& spec, const Domain& domain, Scheduling& out, std::vector<Warning>& warnings) {
    // KubeVirt's admitter: the emulator thread is isolated only on dedicated CPUs.
    if (domain.cpu.isolate_emulator_thread && !domain.cpu.dedicated_cpu_placement) {
        throw SpecError(FieldRef{domain.path + ".cpu.isolateEmulatorThread", std::nullopt},
                        "isolateEmulatorThread needs dedicatedCpuPlacement: true (as KubeVirt requires)");
    }
    auto note = [&](const Node& n) { warnings.push_back({n.where().path, std::string(for_scheduler)}); };
    auto object = [&](const char* key, std::string (*read)(const Node&), std::string& into) {
        auto n = spec.take(key);
        if (!n || n->is_null()) return;
        into = read(*n);
        note(*n);
    };
    if (auto n = spec.take("nodeSelector"); n && !n->is_null()) {
        out.node_selector = read_node_selector(*n);
        note(*n);
    }
    object("affinity", read_affinity, out.affinity);
    object("tolerations", read_tolerations, out.tolerations);
    object("topologySpreadConstraints", read_topology_spread, out.topology_spread_constraints);
    object("dnsConfig", read_dns_config, out.dns_config);
    if (auto n = spec.take("schedulerName")) {
        out.scheduler_name = n->as_string();
        if (!out.scheduler_name.empty()) check_subdomain(*n, out.scheduler_name);
        note(*n);
    }
    if (auto n = spec.take("priorityClassName")) {
        out.priority_class_name = n->as_string();
        if (!out.priority_class_name.empty()) check_subdomain(*n, out.priority_class_name);
        note(*n);
    }
    if (auto n = spec.take("dnsPolicy")) {
        check_one_of(*n, {"", "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
        out.dns_policy = n->as_string();
        note(*n);
        if (out.dns_policy == "None") {
            const json config = out.dns_config.empty() ? json() : json::parse(out.dns_config);
            if (!config.is_object()) n->fail("dnsPolicy None needs a dnsConfig (as KubeVirt requires)");
            if (!config.contains("nameservers") || config["nameservers"].empty()) {
                n->fail("dnsPolicy None needs at least one dnsConfig.nameservers entry (as KubeVirt requires)");
            }
        }
    }
    if (auto n = spec.take("hostname")) {
        out.hostname = n->as_string();
        if (!out.hostname.empty()) check_dns_label(*n, out.hostname, "");
        warnings.push_back({n->where().path, "the Pod's hostname (`pod` copies it); the guest's own hostname "
                                             "comes from cloud-init meta-data"});
    }
    if (auto n = spec.take("subdomain")) {
        out.subdomain = n->as_string();
        // KubeVirt's admitter takes a DNS-1123 subdomain here, but a Pod's
        // subdomain is a label: a dotted one renders a Pod kube-apiserver refuses.
        if (!out.subdomain.empty()) check_dns_label(*n, out.subdomain, ", which a Pod's subdomain must be");
        note(*n);
    }
}

}  // namespace vmi::detail
