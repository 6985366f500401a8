#include "launcher/pod_render.hpp"

#include "vmi/plan_output.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "launcher/pod_resources.hpp"
#include "qemu-args/launch_plan.hpp"
#include "qemu-args/quote.hpp"
#include "qemu-args/sources.hpp"
#include "vmi/k8s_names.hpp"
#include "vmi/validate.hpp"

namespace launcher {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr std::size_t config_map_max_bytes = 1 << 20;  // Kubernetes' limit on a ConfigMap's data
constexpr const char* label_prefix = "vmi-launcher/";

// One container image whose files the VM needs, copied into the images
// emptyDir by an init container.
struct ImageCopy {
    std::string reference;
    std::vector<std::pair<std::string, bool>> paths;  // absolute inside the image; true: a directory
};

// "boot/vmlinuz" or "/boot/vmlinuz" as "/boot/vmlinuz"; ".." is refused, as
// the launcher refuses it when it resolves the file.
std::string image_path(const std::string& path, const std::string& field) {
    const fs::path rel = fs::path(path).relative_path().lexically_normal();
    for (const auto& part : rel) {
        if (part == "..") throw std::runtime_error(fmt::format("{}: \"{}\" must not contain ..", field, path));
    }
    if (rel.empty() || rel == ".") throw std::runtime_error(fmt::format("{}: \"{}\" names no file", field, path));
    // Appended rather than "/" + rel.string(): g++ 12 at -O2 and above takes
    // that for an overlapping memcpy (-Wrestrict false positive, GCC bug
    // 105651), which stops a -Werror release build.
    std::string absolute(1, '/');
    absolute.append(rel.native());
    return absolute;
}

void add_path(std::vector<ImageCopy>& copies, const std::string& reference, std::string path, bool directory) {
    auto it = std::find_if(copies.begin(), copies.end(), [&](const ImageCopy& c) { return c.reference == reference; });
    if (it == copies.end()) it = copies.insert(copies.end(), ImageCopy{reference, {}});
    const std::pair<std::string, bool> entry{std::move(path), directory};
    if (std::find(it->paths.begin(), it->paths.end(), entry) == it->paths.end()) it->paths.push_back(entry);
}

bool has_disk(const vmi::VmiSpec& spec, const std::string& volume) {
    for (const auto& d : spec.domain.devices.disks) {
        if (d.name == volume) return true;
    }
    return false;
}

// Every image the launcher will read files from, in the order of the spec.
std::vector<ImageCopy> image_copies(const vmi::VmiSpec& spec) {
    std::vector<ImageCopy> copies;
    for (const auto& v : spec.volumes) {
        const auto* c = std::get_if<vmi::ContainerDiskSource>(&v.source);
        if (!c || !has_disk(spec, v.name)) continue;
        const std::string field = fmt::format("volume \"{}\": path", v.name);
        // Without a path KubeVirt takes the one file in /disk: copy the directory.
        if (c->path.empty()) {
            add_path(copies, c->image, "/disk", true);
        } else {
            add_path(copies, c->image, image_path(c->path, field), false);
        }
    }
    if (const auto& kb = spec.domain.firmware.kernel_boot) {
        add_path(copies, kb->image, image_path(kb->kernel_path, "kernelBoot kernelPath"), false);
        if (!kb->initrd_path.empty()) {
            add_path(copies, kb->image, image_path(kb->initrd_path, "kernelBoot initrdPath"), false);
        }
    }
    std::vector<std::string> refs;
    for (const auto& c : copies) refs.push_back(c.reference);
    if (const auto clash = qemu_args::image_dir_clash(refs)) {
        throw std::runtime_error(fmt::format("images \"{}\" and \"{}\" would be copied to the same directory {}/{}",
                                             clash->first, clash->second, pod_paths::images_dir,
                                             qemu_args::image_dir_name(clash->first)));
    }
    return copies;
}

// The shell script an init container runs with the tools' busybox, inside
// the disk image: each file to the place --images-dir looks for it.
std::string copy_script(const ImageCopy& copy) {
    const std::string root = fmt::format("{}/{}", pod_paths::images_dir, qemu_args::image_dir_name(copy.reference));
    // Container disk images usually hold no programs: every command is the tool.
    const std::string tool = fmt::format("{}/busybox", pod_paths::tools_dir);
    std::string script = "set -e";
    for (const auto& [path, directory] : copy.paths) {
        const std::string dest = root + path;
        if (directory) {
            script += " && " + qemu_args::shell_quote({tool, "mkdir", "-p", dest});
            script += " && " + qemu_args::shell_quote({tool, "cp", "-R", path + "/.", dest + "/"});
        } else {
            script += " && " + qemu_args::shell_quote({tool, "mkdir", "-p", fs::path(dest).parent_path().string()});
            script += " && " + qemu_args::shell_quote({tool, "cp", path, dest});
        }
    }
    return script;
}

json small_resources() {
    // Requests equal limits, so a VMI that asks for Guaranteed QoS gets it.
    const json r = {{"cpu", "100m"}, {"memory", "64Mi"}};
    return {{"requests", r}, {"limits", r}};
}

json mount(const std::string& name, const std::string& path, bool read_only) {
    json m = {{"name", name}, {"mountPath", path}};
    if (read_only) m["readOnly"] = true;
    return m;
}

json restricted_container_context() {
    return {{"allowPrivilegeEscalation", false},
            {"capabilities", {{"drop", json::array({"ALL"})}}},
            {"readOnlyRootFilesystem", true}};
}

// The ports the user-mode interfaces forward, listed on the compute
// container as KubeVirt's containerPortsFromVMI (template.go) lists them.
// Names are unique: only the pod network's one interface forwards ports, and
// validation refuses a name twice in an interface.
json container_ports(const vmi::VmiSpec& spec) {
    json out = json::array();
    for (const auto& iface : spec.domain.devices.interfaces) {
        if (iface.binding == vmi::InterfaceBinding::bridge) continue;
        for (const auto& p : iface.ports) {
            json port = {{"containerPort", p.port},
                         {"protocol", p.protocol == vmi::PortProtocol::udp ? "UDP" : "TCP"}};
            if (!p.name.empty()) port["name"] = p.name;
            out.push_back(port);
        }
    }
    return out;
}

json container_security_context(PodCgroupMode mode) {
    if (mode == PodCgroupMode::nested) {
        // A writable /sys/fs/cgroup needs a privileged container with most
        // runtimes; the launcher then splits its own (delegated) cgroup.
        return {{"privileged", true}, {"runAsUser", 0}, {"runAsNonRoot", false}};
    }
    return restricted_container_context();
}

json pod_security_context(PodCgroupMode mode) {
    if (mode == PodCgroupMode::nested) return json::object();
    // QEMU's user in Debian and KubeVirt; fsGroup makes the emptyDirs ours.
    return {{"runAsNonRoot", true},
            {"runAsUser", 107},
            {"runAsGroup", 107},
            {"fsGroup", 107},
            {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

std::string bytes_text(vmi::Bytes b) { return std::to_string(b.value); }

json empty_dir(vmi::Bytes size_limit) { return {{"sizeLimit", memory_quantity(size_limit)}}; }

// A PVC's or host disk's pod volume: "volume-NAME", a DNS-1123 label too.
std::string pod_volume_name(const vmi::Volume& v) {
    const std::string name = "volume-" + v.name;
    if (!vmi::is_dns1123_label(name)) {
        throw vmi::SpecError(v.name_ref, fmt::format("\"{}\" cannot name a pod volume: \"{}\" must be a DNS-1123 label "
                                                     "of at most 63 characters, so this volume's name has at most 56",
                                                     v.name, name));
    }
    return name;
}

// What the state emptyDir may hold: the fixed files, every emptyDisk at its
// capacity, and every overlay at the allowance.
vmi::Bytes state_size(const vmi::VmiSpec& spec, const PodOptions& options) {
    vmi::Bytes size = pod_sizes::state_base;
    for (const auto& v : spec.volumes) {
        if (!has_disk(spec, v.name)) continue;
        if (const auto* e = std::get_if<vmi::EmptyDiskSource>(&v.source)) {
            size += round_up(e->capacity.value.bytes().value_or(vmi::Bytes{}), 1 << 20);
        } else if (std::holds_alternative<vmi::ContainerDiskSource>(v.source)) {
            size += options.overlay_size;
        } else if (const auto* p = std::get_if<vmi::PersistentVolumeClaimSource>(&v.source); p && p->ephemeral) {
            size += options.overlay_size;
        }
    }
    return size;
}

// The VMI's labels go onto the Pod: Kubernetes' rules for label keys and
// values, which kube-apiserver would apply to the VMI itself.
void check_labels(const vmi::VmiSpec& spec) {
    const vmi::FieldRef where{spec.from_virtual_machine ? "spec.template.metadata.labels" : "metadata.labels",
                              std::nullopt};
    for (const auto& [key, value] : spec.metadata.labels) {
        if (!vmi::is_qualified_name(key)) {
            throw vmi::SpecError(where, fmt::format("\"{:.80}\" is not a label key (an optional DNS-1123 subdomain "
                                                    "and '/', then 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends)",
                                                    key));
        }
        if (!vmi::is_label_value(value)) {
            throw vmi::SpecError(where.child(key), fmt::format("\"{:.80}\" is not a label value (at most 63 of "
                                                               "[A-Za-z0-9-_.], alphanumeric at both ends)",
                                                               value));
        }
    }
}

// A block volume must be one of the VMI's claims.
void check_block_volumes(const vmi::VmiSpec& spec, const PodOptions& options) {
    for (const auto& name : options.block_volumes) {
        const vmi::Volume* v = spec.find_volume(name);
        if (!v || !std::holds_alternative<vmi::PersistentVolumeClaimSource>(v->source)) {
            throw std::runtime_error(fmt::format(
                "--volume-mode {}=block: the VMI has no persistentVolumeClaim (or ephemeral) volume \"{}\"", name,
                name));
        }
    }
}

}  // namespace

void check_host_disk_path(const vmi::Volume& volume, const vmi::HostDiskSource& disk) {
    const fs::path file = fs::path(disk.path).lexically_normal();
    const std::string dir = file.parent_path().string();
    const vmi::FieldRef where = volume.where.child("hostDisk").child("path");
    auto refuse = [&](const std::string& why) {
        throw vmi::SpecError(where, fmt::format("\"{}\" {}: the pod would mount it read-write; keep disks in a "
                                                "directory of their own (such as /var/lib/vmi-disks)",
                                                disk.path, why));
    };
    if (dir == "/") refuse("lies in the node's root directory");
    for (const std::string protected_dir : protected_host_dirs) {
        if (qemu_args::is_within(protected_dir, dir)) {
            refuse(fmt::format("lies in {}, a system directory of the node", protected_dir));
        }
        // DiskOrCreate mounts the directory: it must not hold a system directory either.
        if (disk.create && qemu_args::is_within(dir, protected_dir)) {
            refuse(fmt::format("is to be created in {}, which holds {}", dir, protected_dir));
        }
    }
}

std::string manifest_to_yaml(const json& object) { return vmi::json_to_yaml(object); }

std::string memory_quantity(vmi::Bytes bytes) { return vmi::to_string(bytes); }

std::string cpu_quantity(std::int64_t millis) {
    if (millis % 1000 == 0) return std::to_string(millis / 1000);
    return fmt::format("{}m", millis);
}

std::string pod_name(const vmi::VmiSpec& spec) { return "vmi-launcher-" + spec.metadata.name; }
std::string config_map_name(const vmi::VmiSpec& spec) { return "vmi-launcher-" + spec.metadata.name + "-vmi"; }

PodManifests render_pod(const vmi::VmiSpec& spec, const vmi::MemoryPlan& plan, std::string_view vmi_text,
                        const PodOptions& options) {
    if (vmi_text.size() > config_map_max_bytes) {
        throw std::runtime_error(fmt::format("the VMI is {} bytes; a ConfigMap holds at most {}", vmi_text.size(),
                                             config_map_max_bytes));
    }
    check_labels(spec);
    check_block_volumes(spec, options);
    const auto& md = spec.metadata;
    const std::string vmi_ref = md.namespace_name + "/" + md.name;

    json labels = json::object();
    for (const auto& [k, v] : md.labels) labels[k] = v;
    labels["app.kubernetes.io/name"] = "vmi-launcher";
    labels["app.kubernetes.io/component"] = "compute";
    labels[std::string(label_prefix) + "vmi"] = md.name;

    PodManifests out;
    out.config_map = {{"apiVersion", "v1"},
                      {"kind", "ConfigMap"},
                      {"metadata",
                       {{"name", config_map_name(spec)},
                        {"namespace", md.namespace_name},
                        {"labels", {{"app.kubernetes.io/name", "vmi-launcher"}, {std::string(label_prefix) + "vmi", md.name}}}}},
                      {"data", {{pod_paths::vmi_key, std::string(vmi_text)}}}};

    json annotations = {{std::string(label_prefix) + "vmi", vmi_ref}};
    if (!md.uid.empty()) annotations[std::string(label_prefix) + "vmi-uid"] = md.uid;
    annotations[std::string(label_prefix) + "overhead-model"] = vmi::to_string(plan.options.model);
    annotations[std::string(label_prefix) + "accel"] = vmi::to_string(plan.options.accel);
    annotations[std::string(label_prefix) + "memory-overcommit"] = std::to_string(plan.options.memory_overcommit_percent);
    annotations[std::string(label_prefix) + "guest-memory-bytes"] = bytes_text(plan.guest);
    annotations[std::string(label_prefix) + "overhead-bytes"] = bytes_text(plan.overhead);
    annotations[std::string(label_prefix) + "cgroup-limit-bytes"] = bytes_text(plan.cgroup_limit);

    const std::string vmi_file = fmt::format("{}/{}", pod_paths::vmi_dir, pod_paths::vmi_key);
    const json command = json::array({"vmi-launcher", "run", vmi_file});
    json args = json::array({"--cgroup-mode", "auto", "--accel", vmi::to_string(plan.options.accel),
                             "--overhead-model", vmi::to_string(plan.options.model), "--memory-overcommit",
                             std::to_string(plan.options.memory_overcommit_percent), "--images-dir",
                             pod_paths::images_dir, "--volumes-dir", pod_paths::volumes_dir, "--state-root",
                             pod_paths::state_root, "--log-format", "json", "--termination-log",
                             pod_paths::termination_log});
    // The launcher in the pod must plan the overhead the pod was sized with.
    if (plan.options.overhead_ratio != 1.0) {
        args.push_back("--overhead-ratio");
        args.push_back(fmt::format("{}", plan.options.overhead_ratio));
    }
    // The launcher in the pod balloons as the plan the pod was sized by says.
    args.push_back("--balloon");
    args.push_back(vmi::to_string(plan.options.balloon));
    // Forwarded ports must be reached at the pod's address, as in KubeVirt,
    // where the launcher's default (loopback) would hide them.
    const json ports = container_ports(spec);
    if (!ports.empty()) {
        args.push_back("--forward-address");
        args.push_back("0.0.0.0");
    }

    json volumes = json::array();
    json mounts = json::array();
    json devices = json::array();
    volumes.push_back({{"name", "vmi"}, {"configMap", {{"name", config_map_name(spec)}}}});
    mounts.push_back(mount("vmi", pod_paths::vmi_dir, true));
    volumes.push_back({{"name", "state"}, {"emptyDir", empty_dir(state_size(spec, options))}});
    mounts.push_back(mount("state", pod_paths::state_root, false));
    volumes.push_back({{"name", "tmp"}, {"emptyDir", empty_dir(pod_sizes::tmp)}});
    mounts.push_back(mount("tmp", pod_paths::tmp_dir, false));

    // PVCs and host disks under the volumes directory, as --volumes-dir expects.
    for (const auto& v : spec.volumes) {
        if (!has_disk(spec, v.name)) continue;
        const bool is_claim = std::holds_alternative<vmi::PersistentVolumeClaimSource>(v.source);
        const bool is_host_disk = std::holds_alternative<vmi::HostDiskSource>(v.source);
        if (!is_claim && !is_host_disk) continue;
        const std::string name = pod_volume_name(v);
        const std::string path = fmt::format("{}/{}", pod_paths::volumes_dir, v.name);
        if (const auto* p = std::get_if<vmi::PersistentVolumeClaimSource>(&v.source)) {
            json claim = {{"claimName", p->claim_name}};
            if (p->read_only) claim["readOnly"] = true;
            volumes.push_back({{"name", name}, {"persistentVolumeClaim", claim}});
            // A Block claim is a device node at the volume's path, which the
            // launcher finds there and opens with QEMU's host_device driver
            // (qemu-args/resolve_sources.cpp, disk_args.cpp). KubeVirt uses
            // /dev/NAME (rendervolumes.go addPVCToLaunchManifest); here the
            // path --volumes-dir looks in.
            if (options.block_volumes.contains(v.name)) {
                devices.push_back({{"name", name}, {"devicePath", path}});
            } else {
                mounts.push_back(mount(name, path, p->read_only));
            }
        } else if (const auto* h = std::get_if<vmi::HostDiskSource>(&v.source)) {
            check_host_disk_path(v, *h);
            // An existing disk: only that file is mounted, at the volume's
            // path. DiskOrCreate: the directory that will hold it (the
            // launcher creates the file there and finds it by its name).
            const std::string file = fs::path(h->path).lexically_normal().string();
            const json host_path = h->create ? json{{"path", fs::path(file).parent_path().string()},
                                                    {"type", "DirectoryOrCreate"}}
                                             : json{{"path", file}, {"type", "File"}};
            volumes.push_back({{"name", name}, {"hostPath", host_path}});
            mounts.push_back(mount(name, path, false));
        }
    }

    // Guest RAM from huge pages: a hugetlbfs emptyDir where QEMU's
    // memory-backend-file maps it (KubeVirt: rendervolumes.go withHugepages).
    if (plan.hugepages && plan.hugepage_size) {
        const std::string medium = "HugePages-" + memory_quantity(*plan.hugepage_size);
        volumes.push_back({{"name", "hugepages"}, {"emptyDir", {{"medium", medium}}}});
        mounts.push_back(mount("hugepages", qemu_args::hugepages_dir(qemu_args::LaunchOptions{}, *plan.hugepage_size),
                               false));
    }

    json init_containers = json::array();
    const auto copies = image_copies(spec);
    // What the disk-backed emptyDirs may hold, for the ephemeral-storage request.
    vmi::Bytes ephemeral = state_size(spec, options) + pod_sizes::tmp;
    if (!copies.empty()) ephemeral += vmi::times(copies.size(), options.image_size) + pod_sizes::tools;
    if (!copies.empty()) {
        volumes.push_back({{"name", "images"}, {"emptyDir", empty_dir(vmi::times(copies.size(), options.image_size))}});
        volumes.push_back({{"name", "tools"}, {"emptyDir", empty_dir(pod_sizes::tools)}});
        mounts.push_back(mount("images", pod_paths::images_dir, true));
        const std::string tool = fmt::format("{}/busybox", pod_paths::tools_dir);
        init_containers.push_back({{"name", "tools"},
                                   {"image", options.image},
                                   {"imagePullPolicy", "IfNotPresent"},
                                   {"command", json::array({"cp", pod_paths::busybox, tool})},
                                   {"resources", small_resources()},
                                   {"securityContext", restricted_container_context()},
                                   {"volumeMounts", json::array({mount("tools", pod_paths::tools_dir, false)})}});
        for (std::size_t i = 0; i < copies.size(); ++i) {
            init_containers.push_back(
                {{"name", fmt::format("image-{}", i)},
                 {"image", copies[i].reference},
                 {"imagePullPolicy", "IfNotPresent"},
                 {"command", json::array({tool, "sh", "-c", copy_script(copies[i])})},
                 {"resources", small_resources()},
                 {"securityContext", restricted_container_context()},
                 {"volumeMounts", json::array({mount("tools", pod_paths::tools_dir, true),
                                               mount("images", pod_paths::images_dir, false)})}});
        }
    }

    json compute = {{"name", "compute"},
                    {"image", options.image},
                    {"imagePullPolicy", "IfNotPresent"},
                    {"command", command},
                    {"args", args},
                    {"resources", compute_resources(spec, plan, options, ephemeral)},
                    {"securityContext", container_security_context(options.cgroup_mode)},
                    {"terminationMessagePath", pod_paths::termination_log},
                    {"terminationMessagePolicy", "FallbackToLogsOnError"},
                    {"volumeMounts", mounts}};
    if (!devices.empty()) compute["volumeDevices"] = devices;
    if (!ports.empty()) compute["ports"] = ports;

    const std::int64_t grace = spec.termination_grace_period_seconds.value_or(30) + pod_grace_margin_seconds;
    json pod_spec = {{"restartPolicy", "Never"},
                     {"terminationGracePeriodSeconds", grace},
                     {"automountServiceAccountToken", false},
                     {"enableServiceLinks", false},
                     {"securityContext", pod_security_context(options.cgroup_mode)}};
    add_scheduling(pod_spec, spec, options);
    if (!init_containers.empty()) pod_spec["initContainers"] = init_containers;
    pod_spec["containers"] = json::array({compute});
    pod_spec["volumes"] = volumes;

    out.pod = {{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"metadata",
                {{"name", pod_name(spec)}, {"namespace", md.namespace_name}, {"labels", labels}, {"annotations", annotations}}},
               {"spec", pod_spec}};
    return out;
}

}  // namespace launcher
