#include "cgroups/events.hpp"

#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"
#include "cgroups/pressure.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace cgroups {

namespace fs = std::filesystem;

namespace {

template <typename F>
auto parsed(const fs::path& file, const std::string& text, F&& parse) {
    try {
        return parse(text);
    } catch (const ParseError& e) {
        throw ParseError(file.string() + ": " + e.what());
    }
}

MemoryEventCounts from_v1(const fs::path& dir, const std::string& oom_control_text) {
    const auto control = parsed(dir / "memory.oom_control", oom_control_text, parse_oom_control);
    const auto failcnt = dir / "memory.failcnt";
    MemoryEventCounts counts;
    counts.oom_kills = control.oom_kill.value_or(0);
    counts.max = parsed(failcnt, read_text(failcnt), parse_counter);
    return counts;
}

MemoryEventCounts from_v2(const fs::path& file, const std::string& text) {
    const auto events = parsed(file, text, parse_memory_events);
    return MemoryEventCounts{
        .oom_kills = events.oom_kill,
        .oom_group_kills = events.oom_group_kill,
        .ooms = events.oom,
        .high = events.high,
        .max = events.max,
    };
}

std::uint64_t since(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : 0; }

MemoryEventCounts difference(const MemoryEventCounts& now, const MemoryEventCounts& before) {
    return MemoryEventCounts{
        .oom_kills = since(now.oom_kills, before.oom_kills),
        .oom_group_kills = since(now.oom_group_kills, before.oom_group_kills),
        .ooms = since(now.ooms, before.ooms),
        .high = since(now.high, before.high),
        .max = since(now.max, before.max),
    };
}

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}


}  // namespace

MemoryEventCounts read_event_counts(Version version, const fs::path& dir) {
    if (version == Version::v1) return from_v1(dir, read_text(dir / "memory.oom_control"));
    return from_v2(dir / "memory.events", read_text(dir / "memory.events"));
}

OomWatcher OomWatcher::open(Version version, const fs::path& dir, Backend& backend,
                            std::chrono::milliseconds poll_interval) {
    OomWatcher w;
    w.version_ = version;
    w.dir_ = dir;
    if (version == Version::v1) {
        w.fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!w.fd_) throw_errno("eventfd for " + dir.string());
        w.oom_control_ = open_file(dir / "memory.oom_control", O_RDONLY);
        w.method_ = "eventfd on " + (dir / "memory.oom_control").string();
        try {
            // libcgroup has no OOM notification: register directly.
            backend.write(dir / "cgroup.event_control",
                          std::to_string(w.fd_.get()) + " " + std::to_string(w.oom_control_.get()));
        } catch (const std::system_error& e) {
            if (e.code() != std::errc::read_only_file_system && e.code() != std::errc::permission_denied &&
                e.code() != std::errc::operation_not_permitted)
                throw;
            w.fd_ = periodic_timerfd(poll_interval, dir);
            w.polling_ = true;
            w.method_ = "polling " + (dir / "memory.oom_control").string() + " every " +
                        std::to_string(poll_interval.count()) + " ms (" + e.what() + ")";
        }
    } else {
        w.fd_ = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!w.fd_) throw_errno("inotify_init1 for " + dir.string());
        const auto events = dir / "memory.events";
        if (::inotify_add_watch(w.fd_.get(), events.c_str(), IN_MODIFY) < 0)
            throw_errno("inotify_add_watch " + events.string());
        w.method_ = "inotify on " + events.string();
    }
    // Read after registering, so nothing between the two is missed.
    w.baseline_ = w.last_ = read_event_counts(version, dir);
    return w;
}

void OomWatcher::drain() noexcept {
    alignas(inotify_event) char buffer[4096];
    while (::read(fd_.get(), buffer, sizeof buffer) > 0) {
    }
}

MemoryEventCounts OomWatcher::check() {
    drain();
    if (gone_) return {};
    MemoryEventCounts now;
    try {
        now = version_ == Version::v1 ? from_v1(dir_, read_text_at(oom_control_.get(), dir_ / "memory.oom_control"))
                                      : read_event_counts(version_, dir_);
    } catch (const std::system_error& e) {
        // v1's eventfd fires on removal too; a removed cgroup has no counters.
        if (e.code() == std::errc::no_such_file_or_directory || e.code() == std::errc::no_such_device) {
            gone_ = true;
            return {};
        }
        throw;
    }
    const auto fresh = difference(now, last_);
    last_ = now;
    return fresh;
}

MemoryEventCounts OomWatcher::total() const { return difference(last_, baseline_); }

}  // namespace cgroups
