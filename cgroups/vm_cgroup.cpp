#include "cgroups/vm_cgroup.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"
#include "cgroups/placement.hpp"

#include <fcntl.h>

#include <algorithm>
#include <stdexcept>

namespace cgroups {

namespace fs = std::filesystem;

namespace {

void check_name_part(const std::string& what, const std::string& value) {
    if (value.empty() || value.front() == '.' || value.find('/') != std::string::npos ||
        value.find('\0') != std::string::npos)
        throw std::invalid_argument("cgroup name: " + what + " \"" + value + "\" cannot name a directory");
}

// A relative path below some cgroup; "/a/b" means "a/b". No "." or "..".
fs::path relative_parent(const std::string& parent) {
    fs::path rel;
    for (const auto& part : fs::path(parent).relative_path()) {
        if (part.empty()) continue;
        if (part == "." || part == "..")
            throw std::invalid_argument("--cgroup-parent \"" + parent + "\": \".\" and \"..\" are not allowed");
        rel /= part;
    }
    return rel;
}

bool lists_memory(const fs::path& file) {
    const auto text = try_read_text(file);
    if (!text) return false;
    const auto names = parse_controllers(*text);
    return std::find(names.begin(), names.end(), "memory") != names.end();
}

// What open() made so far, removed again when a later step fails.
struct Undo {
    Backend& backend;
    std::vector<fs::path> made;  // in creation order
    bool armed = true;

    ~Undo() {
        if (!armed) return;
        for (auto it = made.rbegin(); it != made.rend(); ++it) {
            try {
                backend.remove(*it);
            } catch (...) {
                // Best effort: the error that got us here is the one to report.
            }
        }
    }
};

// Creates each missing directory from `top` (exclusive, it exists) down to
// `dir`; on v2 first enables +memory in each parent's subtree_control where
// missing, top-down, so memory.* files exist in the children.
void make_path(Backend& backend, Version version, const fs::path& top, const fs::path& dir, Undo& undo) {
    fs::path at = top;
    const auto rel = dir.lexically_relative(top);
    for (const auto& part : rel) {
        if (part == ".") continue;
        if (version == Version::v2 && !lists_memory(at / "cgroup.subtree_control"))
            backend.set(at, "cgroup.subtree_control", "+memory");
        at /= part;
        if (path_exists(at)) continue;
        try {
            backend.create(at);
        } catch (const std::system_error& e) {
            // A launcher of another VM made the shared parent meanwhile.
            if (e.code() != std::errc::file_exists || at == dir) throw;
            continue;
        }
        undo.made.push_back(at);
    }
}

// Nested mode: every process of the own cgroup (the launcher among them) moves
// to a leaf, since on v2 a cgroup with processes cannot hand controllers to
// children. Done for v1 too, so both versions have the same shape.
std::string move_to_leaf(Backend& backend, const fs::path& own) {
    const auto leaf = own / launcher_leaf;
    if (!path_exists(leaf)) backend.create(leaf);
    std::size_t moved = 0;
    for (int round = 0; round < 100; ++round) {
        const auto pids = parse_pids(read_text(own / "cgroup.procs"));
        if (pids.empty())
            return "moved " + std::to_string(moved) + (moved == 1 ? " process" : " processes") + " of " +
                   own.string() + " (the launcher among them) into the leaf " + leaf.string();
        for (pid_t pid : pids) {
            try {
                backend.write(leaf / "cgroup.procs", std::to_string(pid));
                ++moved;
            } catch (const std::system_error& e) {
                if (e.code() != std::errc::no_such_process) throw;  // it exited meanwhile
            }
        }
    }
    throw std::runtime_error("move processes of " + own.string() + " into " + leaf.string() +
                             ": new ones keep appearing");
}

}  // namespace

std::string cgroup_name(const VmCgroupSpec& spec) {
    check_name_part("namespace", spec.vm_namespace);
    check_name_part("name", spec.vm_name);
    return spec.vm_namespace + "-" + spec.vm_name;
}

fs::path vm_cgroup_path(const Detection& detection, Mode mode, const VmCgroupSpec& spec) {
    const auto name = cgroup_name(spec);
    if (mode == Mode::host) return detection.memory_root / relative_parent(spec.parent.value_or("vmi-launcher")) / name;
    if (mode == Mode::nested) {
        if (!detection.own_dir) throw std::invalid_argument("nested mode: the launcher's own cgroup is not visible");
        return *detection.own_dir / relative_parent(spec.parent.value_or("")) / name;
    }
    throw std::invalid_argument("only host and nested modes make a VM cgroup, not " + std::string(to_string(mode)));
}

VmCgroup VmCgroup::open(const Detection& detection, Mode mode, const VmCgroupSpec& spec,
                        std::shared_ptr<Backend> backend) {
    VmCgroup cg;
    cg.mode_ = mode;
    cg.version_ = detection.version;
    cg.backend_ = std::move(backend);
    validate(spec.limits);

    if (mode == Mode::adopt) {
        if (!detection.own_dir) throw std::invalid_argument("adopt mode: the launcher's own cgroup is not visible");
        cg.path_ = *detection.own_dir;
        const auto file = cg.path_ / limit_file(cg.version_);
        const auto text = try_read_text(file);
        const auto found = text ? parse_limit(*text) : std::nullopt;
        cg.limit_warning_ = compare_limit(cg.path_.string(), found, spec.limits);
        if (cg.limit_warning_) cg.notices_.push_back(*cg.limit_warning_);
        return cg;
    }

    cg.path_ = vm_cgroup_path(detection, mode, spec);
    Backend& b = *cg.backend_;
    if (auto stale = clean_stale(b, cg.path_)) cg.notices_.push_back(std::move(*stale));
    if (mode == Mode::nested) cg.notices_.push_back(move_to_leaf(b, *detection.own_dir));

    Undo undo{b, {}};
    const auto top = mode == Mode::host ? detection.memory_root : *detection.own_dir;
    make_path(b, cg.version_, top, cg.path_, undo);
    const bool swap_accounting =
        path_exists(cg.path_ / (cg.version_ == Version::v1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max"));
    for (const auto& w : limit_writes(cg.version_, spec.limits, swap_accounting)) b.set(cg.path_, w.file, w.value);
    cg.join_ = open_file(cg.path_ / join_file(cg.version_), O_WRONLY);
    if (cg.version_ == Version::v2) cg.dir_ = open_file(cg.path_, O_PATH | O_DIRECTORY);
    undo.armed = false;
    cg.owned_ = true;
    return cg;
}

VmCgroup::VmCgroup(VmCgroup&& other) noexcept
    : mode_(other.mode_),
      version_(other.version_),
      path_(std::move(other.path_)),
      backend_(std::move(other.backend_)),
      join_(std::move(other.join_)),
      dir_(std::move(other.dir_)),
      notices_(std::move(other.notices_)),
      limit_warning_(std::move(other.limit_warning_)),
      owned_(std::exchange(other.owned_, false)) {}

VmCgroup& VmCgroup::operator=(VmCgroup&& other) noexcept {
    if (this == &other) return *this;
    try {
        close();
    } catch (...) {
        // As in the destructor: the cgroup being replaced is torn down on a best-effort basis.
    }
    mode_ = other.mode_;
    version_ = other.version_;
    path_ = std::move(other.path_);
    backend_ = std::move(other.backend_);
    join_ = std::move(other.join_);
    dir_ = std::move(other.dir_);
    notices_ = std::move(other.notices_);
    limit_warning_ = std::move(other.limit_warning_);
    owned_ = std::exchange(other.owned_, false);
    return *this;
}

VmCgroup::~VmCgroup() {
    try {
        close();
    } catch (...) {
        // close() is where errors are seen; a destructor can only try.
    }
}

void VmCgroup::attach(pid_t pid) {
    if (mode_ == Mode::adopt) throw std::logic_error("adopt mode: the VM cgroup is the launcher's own");
    backend_->write(path_ / "cgroup.procs", std::to_string(pid));
}

TeardownReport VmCgroup::close() {
    if (!owned_) return {};
    join_.reset();
    dir_.reset();
    auto report = tear_down(*backend_, path_);
    owned_ = false;
    return report;
}

}  // namespace cgroups
