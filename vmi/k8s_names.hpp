// Kubernetes' rules for the names and keys that end up in a rendered Pod
// (k8s.io/apimachinery/pkg/util/validation): the launcher refuses a VMI
// whose values would make kube-apiserver refuse the Pod.
#pragma once

#include <string_view>

namespace vmi {

// Lowercase DNS names joined by dots, at most 253 characters (object names,
// PriorityClass and scheduler names, DNS search domains).
bool is_dns1123_subdomain_name(std::string_view s);

// A label or annotation key: an optional DNS-1123 subdomain prefix and '/',
// then a name of 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends.
bool is_qualified_name(std::string_view s);

// A label value: empty, or 1-63 characters of [A-Za-z0-9-_.], alphanumeric
// at both ends.
bool is_label_value(std::string_view s);

}  // namespace vmi
