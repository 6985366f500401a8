#include "cgroups/pressure.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"

namespace cgroups {

namespace fs = std::filesystem;

std::string v1_threshold_line(int event_fd, int usage_fd, std::uint64_t threshold_bytes) {
    return std::to_string(event_fd) + " " + std::to_string(usage_fd) + " " + std::to_string(threshold_bytes);
}

std::string psi_trigger_line(std::chrono::microseconds stall, std::chrono::microseconds window) {
    return "some " + std::to_string(stall.count()) + " " + std::to_string(window.count());
}

std::vector<fs::path> ancestors_below(const fs::path& dir, const fs::path& root, std::size_t max_levels) {
    std::vector<fs::path> out;
    const fs::path base = root.lexically_normal();
    fs::path p = dir.lexically_normal();
    if (!p.empty() && !p.has_filename()) p = p.parent_path();
    while (out.size() < max_levels) {
        const fs::path up = p.parent_path();
        if (up == p) break;
        const auto rel = up.lexically_relative(base);
        // Stop at the root itself (its limit is the machine) and outside it.
        if (rel.empty() || rel == "." || *rel.begin() == "..") break;
        out.push_back(up);
        p = up;
    }
    return out;
}

namespace {

std::string mib(std::uint64_t b) { return std::to_string(b >> 20) + " MiB"; }

// A refusal worth falling back on rather than failing the run.
bool refused(const std::error_code& ec) {
    return ec == std::errc::read_only_file_system || ec == std::errc::permission_denied ||
           ec == std::errc::operation_not_permitted || ec == std::errc::operation_not_supported ||
           ec == std::errc::not_supported || ec == std::errc::no_such_file_or_directory ||
           ec == std::errc::invalid_argument;
}

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

UniqueFd periodic_timerfd(std::chrono::milliseconds interval, const fs::path& for_what) {
    UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!fd) throw_errno("timerfd_create for " + for_what.string());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
    itimerspec spec{};
    spec.it_interval.tv_sec = spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_interval.tv_nsec = spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0) throw_errno("timerfd_settime for " + for_what.string());
    return fd;
}

bool PressureSource::consume() noexcept {
    switch (kind_) {
        case PressureKind::v1_threshold:
        case PressureKind::timer: {
            std::uint64_t n = 0;
            while (::read(fd_.get(), &n, sizeof n) > 0) {
            }
            return true;
        }
        case PressureKind::v2_high: {
            alignas(inotify_event) char buffer[4096];
            while (::read(fd_.get(), buffer, sizeof buffer) > 0) {
            }
            try {
                const auto events = parse_memory_events(read_text(events_file_));
                const bool more = events.high > high_seen_;
                high_seen_ = events.high;
                return more;
            } catch (const std::exception&) {
                return false;  // the cgroup is going away
            }
        }
        case PressureKind::psi: return true;
    }
    return true;
}

struct PressureWatchBuilder {
    PressureWatch& w;
    Backend& backend;

    PressureSource& add(PressureScope scope, PressureKind kind, UniqueFd fd, std::string method) {
        PressureSource s;
        s.scope_ = scope;
        s.kind_ = kind;
        s.fd_ = std::move(fd);
        s.method_ = std::move(method);
        w.sources.push_back(std::move(s));
        return w.sources.back();
    }

    // v1: one eventfd for all of `dir`'s thresholds. Returns false (and
    // records why) when the kernel refuses the registration.
    bool v1_thresholds(PressureScope scope, const fs::path& dir, const std::vector<std::uint64_t>& thresholds) {
        if (thresholds.empty()) return false;
        const fs::path usage = dir / "memory.usage_in_bytes";
        UniqueFd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!efd) throw_errno("eventfd for " + dir.string());
        std::string marks;
        try {
            // The registration holds its own reference: the usage file's fd
            // need not outlive this function.
            UniqueFd ufd = open_file(usage, O_RDONLY);
            for (const auto t : thresholds) {
                backend.write(dir / "cgroup.event_control", v1_threshold_line(efd.get(), ufd.get(), t));
                marks += (marks.empty() ? "" : ", ") + mib(t);
            }
        } catch (const std::system_error& e) {
            if (!refused(e.code())) throw;
            w.fallbacks.push_back("no usage thresholds on " + usage.string() + ": " + e.what());
            return false;
        }
        add(scope, PressureKind::v1_threshold, std::move(efd), "eventfd on " + usage.string() + " at " + marks);
        return true;
    }

    bool psi(PressureScope scope, const fs::path& file, std::chrono::microseconds stall, std::chrono::microseconds window) {
        const std::string line = psi_trigger_line(stall, window);
        UniqueFd fd(::open(file.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
        if (!fd) {
            w.fallbacks.push_back("no PSI trigger on " + file.string() + ": open: " + std::strerror(errno));
            return false;
        }
        // The trigger lives as long as this fd; a write per fd.
        if (::write(fd.get(), line.c_str(), line.size() + 1) < 0) {
            w.fallbacks.push_back("no PSI trigger on " + file.string() + ": write \"" + line + "\": " + std::strerror(errno));
            return false;
        }
        add(scope, PressureKind::psi, std::move(fd), "PSI trigger \"" + line + "\" on " + file.string());
        return true;
    }

    bool v2_high(const fs::path& dir, std::uint64_t high) {
        const fs::path events = dir / "memory.events";
        try {
            backend.write(dir / "memory.high", std::to_string(high));
        } catch (const std::system_error& e) {
            if (!refused(e.code())) throw;
            w.fallbacks.push_back("memory.high not set on " + dir.string() + ": " + e.what());
            return false;
        }
        UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!fd) throw_errno("inotify_init1 for " + dir.string());
        if (::inotify_add_watch(fd.get(), events.c_str(), IN_MODIFY) < 0) throw_errno("inotify_add_watch " + events.string());
        auto& s = add(PressureScope::vm, PressureKind::v2_high, std::move(fd),
                      "memory.high " + mib(high) + " and inotify on " + events.string());
        s.events_file_ = events;
        s.high_seen_ = parse_memory_events(read_text(events)).high;
        return true;
    }
};

PressureWatch open_pressure_watch(Version version, const fs::path& dir, Backend& backend, const PressureOptions& o) {
    PressureWatch w;
    PressureWatchBuilder b{w, backend};
    bool vm_armed = false;
    if (version == Version::v1) {
        vm_armed = b.v1_thresholds(PressureScope::vm, dir, o.v1_thresholds);
    } else {
        if (o.v2_memory_high > 0) vm_armed = b.v2_high(dir, o.v2_memory_high);
        vm_armed = b.psi(PressureScope::vm, dir / "memory.pressure", o.cgroup_psi_stall, o.psi_window) || vm_armed;
    }
    if (!vm_armed) {
        b.add(PressureScope::vm, PressureKind::timer, periodic_timerfd(o.poll_interval, dir),
              "polling " + dir.string() + " every " + std::to_string(o.poll_interval.count()) + " ms");
        w.polling = true;
    }
    b.psi(PressureScope::node, o.node_psi, o.node_psi_stall, o.psi_window);
    // An ancestor with a limit of its own (a pod, a node slice): its usage
    // near that limit is the node's pressure as this VM sees it.
    if (version == Version::v1 && !o.cgroup_root.empty() && o.ancestor_thresholds && !w.polling) {
        for (const auto& up : ancestors_below(dir, o.cgroup_root)) {
            const auto text = try_read_text(up / "memory.limit_in_bytes");
            if (!text) continue;
            std::optional<std::uint64_t> limit;
            try {
                limit = parse_limit(*text);
            } catch (const std::exception&) {
                continue;
            }
            if (limit) b.v1_thresholds(PressureScope::node, up, o.ancestor_thresholds(*limit));
        }
    }
    return w;
}

}  // namespace cgroups
