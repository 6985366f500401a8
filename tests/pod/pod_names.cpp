#include "pod_names.hpp"

#include <map>
#include <regex>
#include <set>

namespace pod_names {
namespace {

using json = nlohmann::json;

const std::regex label_re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
const std::regex subdomain_re("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
const std::regex name_part_re("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
const std::regex port_re("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
const std::regex letter_re(".*[a-z].*");
const std::regex config_key_re("[-._a-zA-Z0-9]+");

class Checker {
public:
    std::vector<std::string> found;

    void check(bool ok, const std::string& field, const std::string& value, const char* rule) {
        if (!ok) found.push_back(field + ": \"" + value + "\" is not a valid " + rule);
    }
    void label(const json& v, const std::string& field) {
        check(v.is_string() && dns1123_label(v), field, v.dump(), "DNS-1123 label");
    }
    void subdomain(const json& v, const std::string& field) {
        check(v.is_string() && dns1123_subdomain(v), field, v.dump(), "DNS-1123 subdomain");
    }
    void string_map(const json& m, const std::string& field, bool values_are_labels) {
        if (!m.is_object()) {
            found.push_back(field + ": not a mapping");
            return;
        }
        std::size_t total = 0;
        for (const auto& [k, v] : m.items()) {
            check(qualified_name(k), field, k, "qualified name (key)");
            check(v.is_string(), field + "." + k, v.dump(), "string");
            if (values_are_labels && v.is_string()) check(label_value(v), field + "." + k, v, "label value");
            if (v.is_string()) total += k.size() + v.get<std::string>().size();
        }
        // TotalAnnotationSizeLimitB
        if (!values_are_labels && total > (256u << 10)) found.push_back(field + ": more than 256 KiB in all");
    }
    void metadata(const json& md, bool in_pod) {
        if (!md.is_object()) {
            found.push_back("metadata: missing");
            return;
        }
        subdomain(md.value("name", json()), "metadata.name");
        label(md.value("namespace", json()), "metadata.namespace");
        if (md.contains("labels")) string_map(md["labels"], "metadata.labels", true);
        if (md.contains("annotations")) string_map(md["annotations"], "metadata.annotations", false);
        (void)in_pod;
    }
    void container(const json& c, const std::string& field, const std::map<std::string, json>& volumes,
                   std::set<std::string>& container_names, std::set<std::string>& port_names) {
        label(c.value("name", json()), field + ".name");
        if (c.contains("name") && !container_names.insert(c["name"].dump()).second) {
            found.push_back(field + ".name: " + c["name"].dump() + " is used twice");
        }
        std::set<std::string> paths;
        for (const auto& m : c.value("volumeMounts", json::array())) {
            const std::string name = m.value("name", "");
            check(volumes.contains(name), field + ".volumeMounts", name, "volume reference (no such volume)");
            if (!paths.insert(m.value("mountPath", "")).second) {
                found.push_back(field + ".volumeMounts: mountPath " + m.value("mountPath", "") + " used twice");
            }
        }
        for (const auto& d : c.value("volumeDevices", json::array())) {
            const std::string name = d.value("name", "");
            const auto it = volumes.find(name);
            check(it != volumes.end() && it->second.contains("persistentVolumeClaim"), field + ".volumeDevices",
                  name, "volume reference (no such persistentVolumeClaim volume)");
            if (!paths.insert(d.value("devicePath", "")).second) {
                found.push_back(field + ".volumeDevices: devicePath " + d.value("devicePath", "") +
                                " is used twice or is also a mountPath");
            }
        }
        for (const auto& p : c.value("ports", json::array())) {
            if (!p.contains("name")) continue;
            const std::string name = p["name"].is_string() ? p["name"].get<std::string>() : p["name"].dump();
            check(port_name(name), field + ".ports", name, "port name (IANA_SVC_NAME)");
            if (!port_names.insert(name).second) found.push_back(field + ".ports: " + name + " is used twice");
        }
        if (c.contains("resources")) {
            for (const char* kind : {"requests", "limits"}) {
                const json list = c["resources"].value(kind, json::object());
                for (const auto& [k, v] : list.items()) {
                    check(qualified_name(k), field + ".resources." + kind, k, "resource name");
                }
            }
        }
    }
    void pod_spec(const json& spec) {
        std::map<std::string, json> volumes;
        for (const auto& v : spec.value("volumes", json::array())) {
            const std::string name = v.value("name", "");
            label(v.value("name", json()), "spec.volumes.name");
            if (!volumes.emplace(name, v).second) found.push_back("spec.volumes: " + name + " is used twice");
            if (v.contains("configMap")) subdomain(v["configMap"].value("name", json()), "spec.volumes.configMap.name");
            if (v.contains("persistentVolumeClaim")) {
                subdomain(v["persistentVolumeClaim"].value("claimName", json()),
                          "spec.volumes.persistentVolumeClaim.claimName");
            }
        }
        std::set<std::string> container_names;
        std::set<std::string> port_names;
        for (const char* list : {"initContainers", "containers"}) {
            std::size_t i = 0;
            for (const auto& c : spec.value(list, json::array())) {
                container(c, "spec." + std::string(list) + "[" + std::to_string(i++) + "]", volumes, container_names,
                          port_names);
            }
        }
        if (spec.contains("hostname")) label(spec["hostname"], "spec.hostname");
        if (spec.contains("subdomain")) label(spec["subdomain"], "spec.subdomain");
        if (spec.contains("nodeSelector")) string_map(spec["nodeSelector"], "spec.nodeSelector", true);
        if (spec.contains("priorityClassName")) subdomain(spec["priorityClassName"], "spec.priorityClassName");
        if (spec.contains("schedulerName")) subdomain(spec["schedulerName"], "spec.schedulerName");
        for (const auto& t : spec.value("tolerations", json::array())) {
            if (t.contains("key") && t["key"] != "") {
                check(t["key"].is_string() && qualified_name(t["key"]), "spec.tolerations.key", t["key"].dump(),
                      "qualified name");
            }
        }
        for (const auto& c : spec.value("topologySpreadConstraints", json::array())) {
            check(c.contains("topologyKey") && c["topologyKey"].is_string() && qualified_name(c["topologyKey"]),
                  "spec.topologySpreadConstraints.topologyKey", c.value("topologyKey", json()).dump(),
                  "qualified name");
        }
    }
    void object(const json& o) {
        const std::string kind = o.value("kind", "");
        if (kind == "List") {
            for (const auto& item : o.value("items", json::array())) object(item);
            return;
        }
        metadata(o.value("metadata", json()), kind == "Pod");
        if (kind == "Pod") {
            pod_spec(o.value("spec", json::object()));
        } else if (kind == "ConfigMap") {
            const json data = o.value("data", json::object());
            for (const auto& [k, v] : data.items()) {
                check(k.size() <= 253 && std::regex_match(k, config_key_re), "data", k, "ConfigMap key");
            }
        } else {
            found.push_back("kind: \"" + kind + "\" is not a Pod or ConfigMap");
        }
    }
};

}  // namespace

bool dns1123_label(const std::string& s) { return s.size() <= 63 && std::regex_match(s, label_re); }

bool dns1123_subdomain(const std::string& s) { return s.size() <= 253 && std::regex_match(s, subdomain_re); }

bool qualified_name(const std::string& s) {
    const auto slash = s.find('/');
    const std::string name = slash == std::string::npos ? s : s.substr(slash + 1);
    if (slash != std::string::npos && !dns1123_subdomain(s.substr(0, slash))) return false;
    return name.size() <= 63 && std::regex_match(name, name_part_re);
}

bool label_value(const std::string& s) { return s.empty() || (s.size() <= 63 && std::regex_match(s, name_part_re)); }

bool port_name(const std::string& s) {
    return s.size() <= 15 && std::regex_match(s, port_re) && std::regex_match(s, letter_re) &&
           s.find("--") == std::string::npos;
}

std::vector<std::string> problems(const nlohmann::json& object) {
    Checker c;
    c.object(object);
    return c.found;
}

}  // namespace pod_names
