// Kubernetes' rules for the names in a Pod and a ConfigMap, as kube-apiserver
// applies them (k8s.io/apimachinery/pkg/util/validation and the core/v1
// object validation): written here from those rules, independently of the
// launcher's own checks, so a rendered Pod is checked by something other
// than the code that rendered it. The OpenAPI schema (schema-test.sh) checks
// types and shapes but not these.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pod_names {

bool dns1123_label(const std::string& s);
bool dns1123_subdomain(const std::string& s);
bool qualified_name(const std::string& s);  // label, annotation and resource keys
bool label_value(const std::string& s);
bool port_name(const std::string& s);  // IANA_SVC_NAME

// Every name problem in a Pod or ConfigMap (an object or a v1 List of
// them), each naming the field: empty when kube-apiserver would take every name.
std::vector<std::string> problems(const nlohmann::json& object);

}  // namespace pod_names
