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
// missing, top-down, so memory.* files exist in the children. A level made
// meanwhile by another launcher is fine (`dir` too: its lock decides); false
// when a level vanished meanwhile (its maker removed it): the caller retries.
bool make_path(Backend& backend, Version version, const fs::path& top, const fs::path& dir, Undo& undo) {
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
            if (e.code() == std::errc::file_exists) continue;
            if (e.code() == std::errc::no_such_file_or_directory) return false;
            throw;
        }
        undo.made.push_back(at);
    }
    return true;
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

fs::path cgroup_subpath(const VmCgroupSpec& spec) {
    check_name_part("namespace", spec.vm_namespace);
    check_name_part("name", spec.vm_name);
    return fs::path(spec.vm_namespace) / spec.vm_name;
}

fs::path vm_cgroup_path(const Detection& detection, Mode mode, const VmCgroupSpec& spec) {
    const auto sub = cgroup_subpath(spec);
    if (mode == Mode::host) return detection.memory_root / relative_parent(spec.parent.value_or("vmi-launcher")) / sub;
    if (mode == Mode::nested) {
        if (!detection.own_dir) throw std::invalid_argument("nested mode: the launcher's own cgroup is not visible");
        const auto rel = relative_parent(spec.parent.value_or("")) / sub;
        // The launcher's leaf is a sibling of the first level: sharing its name would put the VM inside it.
        if (*rel.begin() == launcher_leaf)
            throw std::invalid_argument(std::string("nested mode: the cgroup \"") + launcher_leaf +
                                        "\" is the launcher's own leaf; give --cgroup-parent to place VMs of "
                                        "namespace \"" + spec.vm_namespace + "\" elsewhere");
        return *detection.own_dir / rel;
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
    Undo undo{b, {}};
    const auto top = mode == Mode::host ? detection.memory_root : *detection.own_dir;
    // Nested mode moves the launcher to its leaf before the first mkdir (on
    // v2 the own cgroup must be empty before it can enable +memory below).
    bool moved = false;
    auto move_once = [&] {
        if (mode == Mode::nested && !moved) cg.notices_.push_back(move_to_leaf(b, *detection.own_dir));
        moved = true;
    };
    // The lock decides, never the name: a cgroup is ours once we hold it.
    constexpr int attempts = 20;
    for (int attempt = 1;; ++attempt) {
        CgroupLock lock;  // vanished until tried
        if (path_exists(cg.path_)) {
            lock = try_lock_cgroup(cg.path_);
        } else {
            move_once();
            if (make_path(b, cg.version_, top, cg.path_, undo)) lock = try_lock_cgroup(cg.path_);
        }
        if (lock.result == LockResult::locked) {
            cg.lock_ = std::move(lock.fd);
            break;
        }
        if (lock.result == LockResult::busy) {
            // What we made meanwhile is the other launcher's now.
            undo.made.clear();
            throw CgroupInUse("cgroup " + cg.path_.string() + " is in use by another launcher: VM " +
                              spec.vm_namespace + "/" + spec.vm_name +
                              " is running (the same VMI under another state directory?); nothing was changed");
        }
        // Vanished: a level or the cgroup itself was removed meanwhile by the launcher that made it.
        if (attempt == attempts)
            throw std::runtime_error("cgroup " + cg.path_.string() + ": removed and made anew " +
                                     std::to_string(attempts) + " times while being locked; giving up");
    }
    const bool made_here = std::find(undo.made.begin(), undo.made.end(), cg.path_) != undo.made.end();
    if (std::find(undo.made.begin(), undo.made.end(), cg.path_.parent_path()) != undo.made.end())
        cg.made_namespace_ = cg.path_.parent_path();
    if (!made_here) cg.notices_.push_back(clean_stale(b, cg.path_));
    move_once();
    // Existing levels may still lack +memory on v2 (a stale cgroup, a parent made by another launcher).
    if (!make_path(b, cg.version_, top, cg.path_, undo))
        throw std::runtime_error("cgroup " + cg.path_.string() + " was removed while locked");
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
      lock_(std::move(other.lock_)),
      made_namespace_(std::move(other.made_namespace_)),
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
    lock_ = std::move(other.lock_);
    made_namespace_ = std::move(other.made_namespace_);
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
    if (made_namespace_) {
        // Only when empty: rmdir fails (EBUSY) while another VM of the
        // namespace has its cgroup there, and a launcher making one
        // meanwhile retries when the level vanishes under it.
        try {
            backend_->remove(*made_namespace_);
        } catch (const std::system_error&) {
        }
        made_namespace_.reset();
    }
    lock_.reset();  // held to the end, so no one takes the cgroup while it is torn down
    return report;
}

}  // namespace cgroups
