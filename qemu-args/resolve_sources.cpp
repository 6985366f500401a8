// resolve_sources: from volume and image names to files on this machine.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "qemu-args/sources.hpp"

namespace qemu_args {
namespace {

namespace fs = std::filesystem;

// What a path is, without following the question further.
struct PathInfo {
    bool exists = false;
    bool directory = false;
    bool regular = false;
    bool block = false;
    std::string error;  // strerror when it does not exist
};

PathInfo inspect(const std::string& path) {
    PathInfo info;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        info.error = std::strerror(errno);
        return info;
    }
    info.exists = true;
    info.directory = S_ISDIR(st.st_mode);
    info.regular = S_ISREG(st.st_mode);
    info.block = S_ISBLK(st.st_mode);
    return info;
}

// Absolute and without "." or ".." parts: QEMU and qemu-img never see a
// relative name they could read as "protocol:..." or resolve elsewhere.
std::string absolute(const std::string& path) { return fs::absolute(fs::path(path)).lexically_normal().string(); }

[[noreturn]] void volume_error(const vmi::Volume& v, const std::string& message) {
    throw vmi::SpecError(v.where, fmt::format("volume \"{}\": {}", v.name, message));
}

// The path with every symbolic link resolved; a missing tail is kept as written.
std::string real_path(const std::string& path) {
    std::error_code ec;
    const fs::path p = fs::weakly_canonical(fs::path(path), ec);
    return ec ? absolute(path) : p.string();
}

// A path built from a name or read from an image stays inside its
// directory once symbolic links are followed: a link inside a container
// image, a claim or the volumes directory cannot point QEMU at another
// file of the host. (Explicit --volume and --image mappings are the
// operator's and taken as given; what lies inside them is checked.)
void check_inside(const std::string& root, const std::string& path, const vmi::FieldRef& where,
                  const std::string& who) {
    const std::string real_root = real_path(root);
    const std::string real = real_path(path);
    if (!is_within(real_root, real)) {
        throw vmi::SpecError(where, fmt::format("{}: {} leads to {}, outside {}", who, path, real, real_root));
    }
}

// The first bytes of a disk file, enough to tell its format.
DiskFormat read_format(const vmi::Volume& v, const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) volume_error(v, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    char header[8] = {};
    ssize_t n;
    do {
        n = ::read(fd, header, sizeof header);
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n < 0) volume_error(v, fmt::format("cannot read {}: {}", path, std::strerror(err)));
    return detect_format(std::string_view(header, static_cast<std::size_t>(n)));
}

// A disk file that must exist: a regular file or a block device.
ResolvedVolume existing_disk(const vmi::Volume& v, const std::string& path) {
    const PathInfo info = inspect(path);
    if (!info.exists) volume_error(v, fmt::format("no disk file at {} ({})", path, info.error));
    if (!info.regular && !info.block) volume_error(v, fmt::format("{} is neither a file nor a block device", path));
    ResolvedVolume r;
    r.name = v.name;
    r.path = path;
    r.block_device = info.block;
    r.format = read_format(v, path);
    return r;
}

// `relative` inside `root`, refusing ".." so a YAML path cannot leave it.
std::string inside(const std::string& root, const std::string& relative, const vmi::FieldRef& where,
                   const std::string& what) {
    const fs::path rel = fs::path(relative).relative_path();
    for (const auto& part : rel) {
        if (part == "..") throw vmi::SpecError(where, fmt::format("{} \"{}\" must not contain ..", what, relative));
    }
    if (rel.empty()) throw vmi::SpecError(where, fmt::format("{} \"{}\" names no file", what, relative));
    const std::string path = (fs::path(root) / rel).lexically_normal().string();
    check_inside(root, path, where, what);
    return path;
}

// The unpacked root of a container image: --image REF=DIR, else
// <images_dir>/<image_dir_name(REF)>.
std::string image_root(const std::string& reference, const SourceOptions& options, const vmi::FieldRef& where,
                       const std::string& who) {
    std::string root;
    if (auto it = options.images.find(reference); it != options.images.end()) {
        root = absolute(it->second);
    } else if (!options.images_dir.empty()) {
        const std::string dir = absolute(options.images_dir);
        root = entry_path(dir, image_dir_name(reference)).value();  // image_dir_name makes one plain component
        check_inside(dir, root, where, who + ": image \"" + reference + "\"");
    } else {
        throw vmi::SpecError(where, fmt::format("{}: image \"{}\" has no unpacked root: map it with --image {}=DIR "
                                                "or give an images directory",
                                                who, reference, reference));
    }
    const PathInfo info = inspect(root);
    if (!info.directory) {
        throw vmi::SpecError(where, fmt::format("{}: image \"{}\" should be unpacked at {}, {}", who, reference, root,
                                                info.exists ? "which is not a directory" : "which does not exist"));
    }
    return root;
}

// KubeVirt's rule for a containerDisk without a path: the one file in /disk.
std::string only_file_in_disk_dir(const vmi::Volume& v, const std::string& root) {
    const fs::path dir = fs::path(root) / "disk";
    if (!inspect(dir.string()).directory) {
        volume_error(v, fmt::format("the image has no {} directory and the volume gives no path", dir.string()));
    }
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_directory()) files.push_back(entry.path().string());
    }
    if (ec) volume_error(v, fmt::format("cannot list {}: {}", dir.string(), ec.message()));
    if (files.size() != 1) {
        volume_error(v, fmt::format("{} holds {} files; exactly one is the disk (or give the volume a path)",
                                    dir.string(), files.size()));
    }
    check_inside(dir.string(), files.front(), v.where, fmt::format("volume \"{}\"", v.name));
    return files.front();
}

ResolvedVolume container_disk(const vmi::Volume& v, const vmi::ContainerDiskSource& c, const SourceOptions& o) {
    const std::string who = fmt::format("volume \"{}\"", v.name);
    const std::string root = image_root(c.image, o, v.where, who);
    const std::string path = c.path.empty() ? only_file_in_disk_dir(v, root)
                                            : inside(root, c.path, v.where, who + ": path");
    ResolvedVolume r = existing_disk(v, path);
    r.needs_overlay = true;
    return r;
}

// A PVC or host disk given by name: --volume NAME=PATH, else <volumes_dir>/NAME,
// which must be an entry of the volumes directory, symbolic links followed.
std::string named_volume_path(const vmi::Volume& v, const SourceOptions& o) {
    if (auto it = o.volumes.find(v.name); it != o.volumes.end()) return absolute(it->second);
    if (o.volumes_dir.empty()) return {};
    const std::string dir = absolute(o.volumes_dir);
    const auto entry = entry_path(dir, v.name);
    if (!entry) volume_error(v, fmt::format("the name cannot name an entry of the volumes directory {}", dir));
    check_inside(dir, *entry, v.where, fmt::format("volume \"{}\"", v.name));
    return *entry;
}

// The file inside a volume's directory (a claim's disk.img, a host disk by
// its name), which must stay inside it.
std::string file_in(const vmi::Volume& v, const std::string& dir, const std::string& name) {
    const auto file = entry_path(dir, name);
    if (!file) volume_error(v, fmt::format("\"{}\" cannot name a file in {}", name, dir));
    check_inside(dir, *file, v.where, fmt::format("volume \"{}\"", v.name));
    return *file;
}

ResolvedVolume claim(const vmi::Volume& v, const vmi::PersistentVolumeClaimSource& c, const SourceOptions& o) {
    std::string path = named_volume_path(v, o);
    if (path.empty()) {
        volume_error(v, fmt::format("claim \"{}\" is not mapped: pass --volume {}=PATH or give a volumes directory",
                                    c.claim_name, v.name));
    }
    // KubeVirt mounts a filesystem claim as a directory holding disk.img.
    if (inspect(path).directory) path = file_in(v, path, "disk.img");
    ResolvedVolume r = existing_disk(v, path);
    r.needs_overlay = c.ephemeral;
    return r;
}

ResolvedVolume host_disk(const vmi::Volume& v, const vmi::HostDiskSource& h, const SourceOptions& o) {
    std::string path = named_volume_path(v, o);
    // Without a mapping, or when the volumes directory has no such entry, the
    // host path itself (as on a host); a directory holds the file by its name.
    if (path.empty() || (!o.volumes.contains(v.name) && !inspect(path).exists)) path = absolute(h.path);
    if (inspect(path).directory) path = file_in(v, path, fs::path(h.path).filename().string());
    const PathInfo info = inspect(path);
    if (info.exists || !h.create) return existing_disk(v, path);
    const std::string parent = fs::path(path).parent_path().string();
    if (!inspect(parent).directory) {
        volume_error(v, fmt::format("cannot create {}: directory {} does not exist", path, parent));
    }
    ResolvedVolume r;
    r.name = v.name;
    r.path = path;
    r.create_sparse = true;
    r.capacity = h.capacity->value.bytes();
    return r;
}

ResolvedVolume empty_disk(const vmi::Volume& v, const vmi::EmptyDiskSource& e) {
    ResolvedVolume r;
    r.name = v.name;  // the file is made in the state directory
    r.create_sparse = true;
    r.capacity = e.capacity.value.bytes();
    return r;
}

ResolvedKernel kernel_files(const vmi::KernelBoot& kb, const SourceOptions& o) {
    const vmi::FieldRef where{"spec.domain.firmware.kernelBoot.container", std::nullopt};
    const std::string root = image_root(kb.image, o, where, "kernelBoot");
    auto file = [&](const std::string& relative, const std::string& field) {
        const std::string path = inside(root, relative, where, field);
        const PathInfo info = inspect(path);
        if (!info.regular) {
            throw vmi::SpecError(where, fmt::format("{} \"{}\": no file at {}{}", field, relative, path,
                                                    info.exists ? "" : " (" + info.error + ")"));
        }
        return path;
    };
    ResolvedKernel k;
    k.kernel = file(kb.kernel_path, "kernelPath");
    if (!kb.initrd_path.empty()) k.initrd = file(kb.initrd_path, "initrdPath");
    return k;
}

// OVMF's split images, as Debian's ovmf package installs them.
ResolvedFirmware efi_firmware(const vmi::Firmware& fw, const SourceOptions& o) {
    const std::vector<std::pair<const char*, const char*>> candidates =
        fw.secure_boot ? std::vector<std::pair<const char*, const char*>>{{"OVMF_CODE_4M.secboot.fd", "OVMF_VARS_4M.ms.fd"},
                                                                        {"OVMF_CODE.secboot.fd", "OVMF_VARS.ms.fd"}}
                       : std::vector<std::pair<const char*, const char*>>{{"OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"},
                                                                        {"OVMF_CODE.fd", "OVMF_VARS.fd"}};
    std::string tried;
    for (const auto& [code, vars] : candidates) {
        const std::string code_path = absolute((fs::path(o.ovmf_dir) / code).string());
        const std::string vars_path = absolute((fs::path(o.ovmf_dir) / vars).string());
        if (inspect(code_path).regular && inspect(vars_path).regular) return {code_path, vars_path, fw.secure_boot};
        tried += fmt::format("{}{} with {}", tried.empty() ? "" : "; ", code_path, vars_path);
    }
    throw vmi::SpecError(vmi::FieldRef{"spec.domain.firmware.bootloader.efi", std::nullopt},
                         fmt::format("UEFI firmware not found (tried {}): install the Debian package ovmf", tried));
}

bool has_disk(const vmi::VmiSpec& spec, const std::string& volume) {
    for (const auto& d : spec.domain.devices.disks) {
        if (d.name == volume) return true;
    }
    return false;
}

// Images looked up in the images directory by image_dir_name must not share
// a directory.
void check_image_dirs(const vmi::VmiSpec& spec, const SourceOptions& o) {
    if (o.images_dir.empty()) return;
    std::vector<std::string> refs;
    for (const auto& v : spec.volumes) {
        const auto* c = std::get_if<vmi::ContainerDiskSource>(&v.source);
        if (c && has_disk(spec, v.name) && !o.images.contains(c->image)) refs.push_back(c->image);
    }
    const auto& kb = spec.domain.firmware.kernel_boot;
    if (kb && !o.images.contains(kb->image)) refs.push_back(kb->image);
    if (const auto clash = image_dir_clash(refs)) {
        throw vmi::SpecError(fmt::format("images \"{}\" and \"{}\" would share the directory {}/{}: map one with "
                                         "--image REF=DIR",
                                         clash->first, clash->second, o.images_dir, image_dir_name(clash->first)));
    }
}

}  // namespace

ResolvedSources resolve_sources(const vmi::VmiSpec& spec, const SourceOptions& options) {
    check_image_dirs(spec, options);
    ResolvedSources out;
    for (const auto& v : spec.volumes) {
        if (!has_disk(spec, v.name)) continue;  // validation warned: nothing attaches it
        if (const auto* c = std::get_if<vmi::ContainerDiskSource>(&v.source)) {
            out.volumes.push_back(container_disk(v, *c, options));
        } else if (const auto* p = std::get_if<vmi::PersistentVolumeClaimSource>(&v.source)) {
            out.volumes.push_back(claim(v, *p, options));
        } else if (const auto* h = std::get_if<vmi::HostDiskSource>(&v.source)) {
            out.volumes.push_back(host_disk(v, *h, options));
        } else if (const auto* e = std::get_if<vmi::EmptyDiskSource>(&v.source)) {
            out.volumes.push_back(empty_disk(v, *e));
        }
        // cloudInitNoCloud: the seed is built from the spec alone.
    }
    const auto& fw = spec.domain.firmware;
    if (fw.kernel_boot) out.kernel = kernel_files(*fw.kernel_boot, options);
    if (fw.bootloader == vmi::Bootloader::efi) out.efi = efi_firmware(fw, options);
    return out;
}

}  // namespace qemu_args
