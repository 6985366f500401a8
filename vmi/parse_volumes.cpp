// spec.volumes and spec.networks.
#include <fmt/format.h>

#include "vmi/base64.hpp"
#include "vmi/parse_parts.hpp"

namespace vmi::detail {
namespace {

ContainerDiskSource parse_container_disk(const Node& node, bool legacy, std::vector<Warning>& warnings) {
    ContainerDiskSource c;
    c.legacy_registry_disk = legacy;
    MapReader m(node, warnings);
    c.image = m.require("image").as_string();
    if (c.image.empty()) node.fail("image must not be empty");
    if (auto n = m.take("path")) c.path = n->as_string();
    m.finish();
    return c;
}

std::string decoded(const Node& n) {
    auto text = base64_decode(n.as_string());
    if (!text) n.fail("is not valid base64");
    return *text;
}

CloudInitNoCloudSource parse_cloud_init(const Node& node, bool config_drive, std::vector<Warning>& warnings) {
    CloudInitNoCloudSource c;
    c.config_drive = config_drive;
    MapReader m(node, warnings);
    if (config_drive) {
        // The field policy names these for cloudInitNoCloud; the config drive has the same two.
        for (const char* key : {"secretRef", "networkDataSecretRef"}) {
            if (auto n = m.take(key)) {
                n->fail(fmt::format("KubeVirt's cloudInitConfigDrive.{} is not supported by vmi-launcher: the "
                                    "launcher reads no Secrets; inline the data (userData, networkData)",
                                    key));
            }
        }
    }
    auto user = m.take("userData");
    auto user64 = m.take("userDataBase64");
    if (user && user64) user64->fail("give only one of userData and userDataBase64");
    if (user) c.user_data = user->as_string();
    if (user64) c.user_data = decoded(*user64);
    auto net = m.take("networkData");
    auto net64 = m.take("networkDataBase64");
    if (net && net64) net64->fail("give only one of networkData and networkDataBase64");
    if (net) c.network_data = net->as_string();
    if (net64) c.network_data = decoded(*net64);
    m.finish();
    return c;
}

HostDiskSource parse_host_disk(const Node& node, std::vector<Warning>& warnings) {
    HostDiskSource h;
    MapReader m(node, warnings);
    h.path = m.require("path").as_string();
    if (h.path.empty() || h.path.front() != '/') node.fail("path must be absolute");
    Node type = m.require("type");
    const std::string t = type.as_string();
    if (t != "Disk" && t != "DiskOrCreate") type.fail(fmt::format("\"{}\" is not a type (use Disk or DiskOrCreate)", t));
    h.create = t == "DiskOrCreate";
    if (auto n = m.take("capacity")) h.capacity = n->as_quantity();
    if (h.create && !h.capacity) node.fail("capacity is required with type DiskOrCreate");
    m.ignore("shared", "ignored: disks are never shared between launchers");
    m.finish();
    return h;
}

PersistentVolumeClaimSource parse_claim(const Node& node, bool ephemeral, std::vector<Warning>& warnings) {
    PersistentVolumeClaimSource p;
    p.ephemeral = ephemeral;
    MapReader m(node, warnings);
    p.claim_name = m.require("claimName").as_string();
    if (auto n = m.take("readOnly")) p.read_only = n->as_bool();
    m.ignore("hotpluggable", "ignored: hotplug is not supported");
    m.finish();
    return p;
}

Volume parse_volume(const Node& node, std::vector<Warning>& warnings) {
    Volume v;
    v.where = node.where();
    MapReader m(node, warnings);
    const Node name = m.require("name");
    v.name = name.as_string();
    v.name_ref = name.where();
    int sources = 0;
    auto source = [&](std::string_view key) -> std::optional<Node> {
        auto n = m.take(key);
        if (n && ++sources > 1) n->fail("a volume has exactly one source");
        return n;
    };
    if (auto n = source("containerDisk")) v.source = parse_container_disk(*n, false, warnings);
    if (auto n = source("registryDisk")) v.source = parse_container_disk(*n, true, warnings);
    if (auto n = source("cloudInitNoCloud")) v.source = parse_cloud_init(*n, false, warnings);
    if (auto n = source("cloudInitConfigDrive")) v.source = parse_cloud_init(*n, true, warnings);
    if (auto n = source("emptyDisk")) {
        MapReader e(*n, warnings);
        v.source = EmptyDiskSource{e.require("capacity").as_quantity()};
        e.finish();
    }
    if (auto n = source("hostDisk")) v.source = parse_host_disk(*n, warnings);
    if (auto n = source("persistentVolumeClaim")) v.source = parse_claim(*n, false, warnings);
    if (auto n = source("ephemeral")) {
        MapReader e(*n, warnings);
        v.source = parse_claim(e.require("persistentVolumeClaim"), true, warnings);
        e.finish();
    }
    m.finish();  // rejects the unsupported sources by name
    if (sources == 0) node.fail("a volume needs a source (containerDisk, cloudInitNoCloud, cloudInitConfigDrive, "
                                "emptyDisk, hostDisk, persistentVolumeClaim, ephemeral)");
    return v;
}

}  // namespace

std::vector<Volume> parse_volumes(const Node& node, std::vector<Warning>& warnings) {
    std::vector<Volume> out;
    for (const auto& item : node.as_list()) out.push_back(parse_volume(item, warnings));
    return out;
}

namespace {

// networks[].pod: the guest's address ranges behind masquerade, checked
// when the plan turns them into addresses.
void read_pod_network(const Node& node, Network& net, std::vector<Warning>& warnings) {
    MapReader m(node, warnings);
    if (auto n = m.take("vmNetworkCIDR")) {
        net.vm_network_cidr = n->as_string();
        net.vm_network_cidr_ref = n->where();
    }
    if (auto n = m.take("vmIPv6NetworkCIDR")) {
        net.vm_ipv6_network_cidr = n->as_string();
        net.vm_ipv6_network_cidr_ref = n->where();
    }
    m.finish();
}

}  // namespace

std::vector<Network> parse_networks(const Node& node, std::vector<Warning>& warnings) {
    std::vector<Network> out;
    for (const auto& item : node.as_list()) {
        Network net;
        MapReader m(item, warnings);
        net.name = m.require("name").as_string();
        auto pod = m.take("pod");
        auto multus = m.take("multus");
        if (pod && multus) multus->fail("give only one of pod and multus");
        if (multus) {
            net.pod = false;
            MapReader mm(*multus, warnings);
            net.multus_network_name = mm.require("networkName").as_string();
            mm.ignore("default", "ignored");
            mm.finish();
        } else if (pod) {
            read_pod_network(*pod, net, warnings);
        } else {
            // KubeVirt needs one of them; `pod: {}` is the usual spelling.
            // Its other sources (genie, resourceClaim) are refused by name first.
            m.finish();
            item.fail("a network needs pod or multus");
        }
        m.finish();
        out.push_back(net);
    }
    return out;
}

}  // namespace vmi::detail
