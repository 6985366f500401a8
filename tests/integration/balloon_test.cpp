// The balloon for real: an overcommitted test guest (512 MiB of guest memory
// on a 256 MiB request) reads 450 MiB of a disk into its page cache. Without
// the balloon its cgroup's limit kills it; with it the launcher takes the
// cache back through virtio-balloon on the cgroup's usage thresholds.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "../launcher/run_command.hpp"
#include "launcher_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;
using json = nlohmann::json;

namespace {

// A sparse 512 MiB disk the guest reads (O_DIRECT on the host: QEMU's own
// page cache would count against the VM's cgroup and blur the figures).
const std::string scratch_disk =
    "      disks:\n"
    "      - name: scratch\n"
    "        disk:\n"
    "          bus: virtio\n"
    "        cache: none\n"
    "  volumes:\n"
    "  - name: scratch\n"
    "    emptyDisk:\n"
    "      capacity: 512Mi\n";

class Scratch : public itest::ScratchDir {
public:
    Scratch() : ScratchDir("vmil-balloon") {}

    std::vector<std::string> args(const std::string& name, const std::string& guest_args,
                                  std::vector<std::string> extra) const {
        const fs::path file = path(name + ".yaml");
        std::ofstream(file) << itest::test_vmi_yaml(name, "512Mi", "256Mi", guest_args, scratch_disk);
        auto a = itest::guest_run_argv(file.string(), path(name + ".console").string());
        a.insert(a.end(), {"--state-root", path("state").string(), "--termination-log",
                           path(name + ".termination").string()});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

std::vector<json> events_named(const LauncherProcess& l, const std::string& name) {
    std::vector<json> out;
    for (const auto& e : l.events()) {
        if (e.value("event", "") == name) out.push_back(e);
    }
    return out;
}

}  // namespace

TEST_CASE("balloon off: the guest's page cache fills the cgroup and the VM is OOM-killed") {
    Scratch s;
    LauncherProcess l(s.args("bal-off", "vmil.cache=450", {"--balloon", "off"}));
    const auto stopped = itest::wait_stopped(l, 180s, 4);
    CHECK(stopped["outcome"] == "oom_killed");
    CHECK(stopped["balloon_inflations"] == 0);
    CHECK(events_named(l, "balloon_target").empty());
    CHECK_THAT(itest::read_file(s.path("bal-off.console").string()), Catch::Contains("VMIL: cache progress"));
    CHECK_THAT(itest::read_file(s.path("bal-off.console").string()), !Catch::Contains("VMIL: cache done"));
}

TEST_CASE("balloon auto: the launcher inflates on the usage threshold, the guest finishes reading, then deflates") {
    Scratch s;
    // Deflation after 2 s without pressure, one step a second: the test
    // cannot wait the default half minute.
    LauncherProcess l(s.args("bal-auto", "vmil.cache=450 vmil.wait",
                             {"--balloon-quiet", "2s", "--balloon-step-interval", "1s"}));
    const auto watch = l.wait_event("balloon_watch", 60s);
    REQUIRE(watch);
    CHECK((*watch)["floor_bytes"] == 256u << 20);
    CHECK((*watch)["ceiling_bytes"] == 512u << 20);
    CHECK_THAT((*watch)["methods"].dump(), Catch::Contains("eventfd on") && Catch::Contains("memory.usage_in_bytes"));
    REQUIRE(itest::wait_for_text(s.path("bal-auto.console").string(), "VMIL: cache done 450", 180s));

    const auto targets = events_named(l, "balloon_target");
    REQUIRE_FALSE(targets.empty());
    const json& first = targets.front();
    // Usage plus the guest's free memory passed the limit at the first
    // statistics (a tick), or usage crossed a threshold (an event).
    CHECK((first["signal"] == "none" || first["signal"] == "cgroup near limit"));
    CHECK((first["reason"] == "inflate" || first["reason"] == "floor reached"));
    CHECK(first["new_target_bytes"].get<std::uint64_t>() < first["old_target_bytes"].get<std::uint64_t>());
    CHECK(first["new_target_bytes"].get<std::uint64_t>() >= 256u << 20);
    CHECK(first["guest_available_bytes"].is_number());
    CHECK(first["limit_bytes"].is_number());
    CHECK(first["usage_bytes"].get<std::uint64_t>() <= first["limit_bytes"].get<std::uint64_t>());
    // Milliseconds, not the seconds of a poller.
    CHECK(first["signal_to_command_ms"].get<double>() < 500);

    // The status shows the launcher's balloon.
    const auto st = test_cmd::run({itest::launcher_path(), "status", "itest/bal-auto", "--state-root",
                                   s.path("state").string(), "-o", "json"});
    REQUIRE(st.status == 0);
    const json status = json::parse(st.out);
    REQUIRE(status.contains("balloon_control"));
    const json& b = status["balloon_control"];
    CHECK(b["floor_bytes"] == 256u << 20);
    CHECK(b["ceiling_bytes"] == 512u << 20);
    CHECK(b["target_bytes"].is_number());
    CHECK(b["actual_bytes"].is_number());
    CHECK(b["last_reason"].is_string());
    const auto text = test_cmd::run({itest::launcher_path(), "status", "itest/bal-auto", "--state-root",
                                     s.path("state").string()});
    CHECK_THAT(text.out, Catch::Contains("balloon:    target ") && Catch::Contains("  floor:    268435456 bytes") &&
                             Catch::Contains("  ceiling:  536870912 bytes") && Catch::Contains("  last:     "));

    // Steady state: the guest sits on its cache, usage stays between the
    // marks, and the target does not move.
    std::this_thread::sleep_for(3s);
    const std::size_t settled = events_named(l, "balloon_target").size();
    std::this_thread::sleep_for(5s);
    CHECK(events_named(l, "balloon_target").size() == settled);

    // The pressure passes: the limit is raised (as a pod resize would). The
    // balloon steps back to the ceiling after the quiet period, and stops.
    const auto ready = l.wait_event("cgroup_ready", 1s);
    REQUIRE(ready);
    const fs::path cgroup = (*ready)["cgroup"].get<std::string>();
    // v1 keeps memory.limit_in_bytes at or below memory.memsw.limit_in_bytes.
    const std::string raised = std::to_string(1024u << 20);
    if (fs::exists(cgroup / "memory.memsw.limit_in_bytes")) {
        std::ofstream memsw(cgroup / "memory.memsw.limit_in_bytes");
        REQUIRE((memsw << raised << std::flush));
    }
    {
        std::ofstream limit(cgroup / "memory.limit_in_bytes");
        REQUIRE((limit << raised << std::flush));
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::vector<json> after;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto all = events_named(l, "balloon_target");
        after.assign(all.begin() + static_cast<std::ptrdiff_t>(settled), all.end());
        if (!after.empty() && after.back()["new_target_bytes"] == 512u << 20) break;
        std::this_thread::sleep_for(500ms);
    }
    REQUIRE_FALSE(after.empty());
    CHECK(after.back()["new_target_bytes"] == 512u << 20);
    CHECK(after.size() <= 4);  // 64 MiB steps from the floor at most
    for (const auto& t : after) {
        CHECK(t["reason"] == "deflate");
        CHECK(t["new_target_bytes"].get<std::uint64_t>() > t["old_target_bytes"].get<std::uint64_t>());
    }
    std::this_thread::sleep_for(3s);
    CHECK(events_named(l, "balloon_target").size() == settled + after.size());
    std::size_t inflations = 0, deflations = 0;
    for (const auto& t : events_named(l, "balloon_target")) {
        (t["new_target_bytes"] < t["old_target_bytes"] ? inflations : deflations) += 1;
    }

    l.signal(SIGTERM);
    const auto stopped = itest::wait_stopped(l, 60s, 0);
    CHECK(stopped["oom_kills"] == 0);
    CHECK(stopped["balloon_inflations"].get<std::uint64_t>() == inflations);
    CHECK(stopped["balloon_deflations"].get<std::uint64_t>() == deflations);
    CHECK(stopped["balloon_returned_bytes"].get<std::uint64_t>() >= 64u << 20);
    CHECK(inflations >= 1);
}

TEST_CASE("a working set above the floor is still an OOM kill, and says the balloon could not help") {
    Scratch s;
    LauncherProcess l(s.args("bal-fill", "vmil.fill=400", {}));
    const auto stopped = itest::wait_stopped(l, 180s, 4);
    CHECK(stopped["outcome"] == "oom_killed");
    const auto oom = events_named(l, "oom_killed");
    REQUIRE_FALSE(oom.empty());
    CHECK_THAT(oom.front()["msg"].get<std::string>(), Catch::Contains("the balloon could not help"));
    CHECK_THAT(itest::read_file(s.path("bal-fill.termination").string()),
               Catch::StartsWith("OOMKilled:") && Catch::Contains("the balloon could not help"));
}
