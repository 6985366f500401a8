// The command line as a user meets it: exit statuses, one-line errors,
// machine-readable plans, help and version.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../vmi/test_files.hpp"
#include "cgroups/detect.hpp"
#include "run_command.hpp"

namespace fs = std::filesystem;
using test_cmd::launcher;
using test_cmd::run;

namespace {

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

std::string example(const char* name) { return (test_files::source_root() / "examples" / name).string(); }

// A bad input: exit 2, nothing on stdout, one error line that says `fragment`.
void check_refused(const test_cmd::Result& r, const std::string& fragment) {
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(lines(r.err) == 1);
    CHECK(r.err.starts_with("error: "));
    CHECK_THAT(r.err, Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("every bad input of the corpus: exit 2 and one line naming the problem") {
    const auto dir = test_files::source_root() / "tests" / "bad-inputs";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string text = test_files::read(e.path());
        const std::string expect = text.substr(10, text.find('\n') - 10);
        INFO(e.path().filename().string());
        for (const char* cmd : {"validate", "plan"}) {
            check_refused(run({launcher(), cmd, e.path().string()}), expect);
        }
        ++n;
    }
    CHECK(n >= 40);
}

TEST_CASE("every bad input of the corpus through run and qemu-args: refused, and nothing is created") {
    const auto dir = test_files::source_root() / "tests" / "bad-inputs";
    const fs::path scratch = fs::temp_directory_path() / ("vmil-bad-inputs-" + std::to_string(::getpid()));
    const fs::path state_root = scratch / "state";
    fs::create_directories(state_root);
    // A cgroup parent of its own: whatever run would make under it is ours to look for.
    const std::string parent = "vmi-launcher-bad-inputs-" + std::to_string(::getpid());
    // Where run would make it, by this machine's detection (v1 or v2): below
    // the memory hierarchy's root (host mode) or below the launcher's own
    // cgroup (nested mode). Without a memory controller run creates none.
    const auto detection = cgroups::detect(cgroups::system_inputs());
    INFO(cgroups::describe(detection));
    std::vector<fs::path> cgroup_places;
    if (detection.memory_available) {
        cgroup_places.push_back(detection.memory_root / parent);
        if (detection.own_dir) cgroup_places.push_back(*detection.own_dir / parent);
    }
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string text = test_files::read(e.path());
        const std::string expect = text.substr(10, text.find('\n') - 10);
        INFO(e.path().filename().string());
        const std::string file = e.path().string();
        const std::vector<std::string> common{"--state-root", state_root.string(), "--cgroup-parent", parent,
                                              "--accel", "tcg", "--log-format", "json"};
        std::vector<std::string> dry{launcher(), "run", file, "--dry-run"};
        dry.insert(dry.end(), common.begin(), common.end());
        std::vector<std::string> real{launcher(), "run", file};
        real.insert(real.end(), common.begin(), common.end());
        check_refused(run(dry), expect);
        check_refused(run(real), expect);
        check_refused(run({launcher(), "qemu-args", file, "--accel", "tcg"}), expect);
        CHECK(fs::is_empty(state_root));
        for (const auto& place : cgroup_places) CHECK_FALSE(fs::exists(place));
    }
    fs::remove_all(scratch);
}

TEST_CASE("generated bad inputs through the command line") {
    signal(SIGPIPE, SIG_IGN);
    SECTION("oversize input on stdin") {
        check_refused(run({launcher(), "validate", "-"}, std::string(6 << 20, 'a')), "the limit is 4194304 bytes");
    }
    SECTION("binary garbage") {
        std::string garbage;
        for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
        check_refused(run({launcher(), "validate", "-"}, garbage), "input is not text");
    }
    SECTION("deep nesting") {
        check_refused(run({launcher(), "plan", "-"}, std::string(100000, '[')), "nests deeper than 64 levels");
    }
    SECTION("a missing file and a directory") {
        check_refused(run({launcher(), "validate", "/nonexistent/vmi.yaml"}),
                      "cannot open /nonexistent/vmi.yaml: No such file or directory");
        check_refused(run({launcher(), "validate", "/tmp"}), "cannot read /tmp: it is a directory");
    }
    SECTION("bad usage") {
        CHECK(run({launcher(), "plan"}).status == 2);
        CHECK(run({launcher(), "plan", example("tiny.yaml"), "-o", "xml"}).status == 2);
        CHECK(run({launcher(), "plan", example("tiny.yaml"), "--memory-overcommit", "5"}).status == 2);
        CHECK(run({launcher(), "frobnicate"}).status == 2);
        CHECK(run({launcher()}).status == 2);
    }
}

TEST_CASE("plan -o json: the seed's overcommit example") {
    auto r = run({launcher(), "plan", example("seed-overcommit.yaml"), "-o", "json", "--accel", "kvm",
                  "--overhead-model", "kubevirt"});
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["guest_requested_bytes"] == 25761732ULL * 1024);
    CHECK(j["guest_bytes"] == 25158ULL << 20);
    CHECK(j["request_bytes"] == 24534983ULL * 1024);
    CHECK(j["limit_bytes"].is_null());
    CHECK(j["pod_limit_bytes"].is_null());
    CHECK(j["pod_request_bytes"] == j["request_bytes"]);
    CHECK(j["cgroup_limit_bytes"] == j["request_bytes"].get<std::uint64_t>() + j["overhead_bytes"].get<std::uint64_t>());
    std::uint64_t terms = 0;
    for (const auto& [name, bytes] : j["overhead_terms"].items()) terms += bytes.get<std::uint64_t>();
    CHECK(terms == j["overhead_bytes"]);
    CHECK(j["warnings"].size() == 1);
    // The virtio CD-ROM of 2018 is reported on stderr, not mixed into the JSON.
    CHECK_THAT(r.err, Catch::Contains("warning: spec.domain.devices.disks[1]"));
}

TEST_CASE("plan --balloon: floor and ceiling of an overcommitted VM, off on request") {
    auto on = run({launcher(), "plan", example("seed-overcommit.yaml"), "-o", "json", "--accel", "kvm"});
    REQUIRE(on.status == 0);
    const auto j = nlohmann::json::parse(on.out);
    CHECK(j["balloon"]["mode"] == "auto");
    CHECK(j["balloon"]["floor_bytes"] == j["request_bytes"]);
    CHECK(j["balloon"]["ceiling_bytes"] == j["guest_bytes"]);
    auto off = run({launcher(), "plan", example("seed-overcommit.yaml"), "--accel", "kvm", "--balloon", "off"});
    REQUIRE(off.status == 0);
    CHECK_THAT(off.out, Catch::Contains("off  (--balloon off)"));
    CHECK(run({launcher(), "plan", example("tiny.yaml"), "--balloon", "on"}).status == 2);
}

TEST_CASE("plan -o yaml and the table carry the same numbers") {
    auto yaml = run({launcher(), "plan", example("tiny.yaml"), "-o", "yaml", "--accel", "tcg"});
    REQUIRE(yaml.status == 0);
    CHECK_THAT(yaml.out, Catch::Contains("guest_bytes: 268435456") && Catch::Contains("cgroup_limit_bytes: 414187520"));
    auto table = run({launcher(), "plan", example("tiny.yaml"), "--accel", "tcg"});
    REQUIRE(table.status == 0);
    CHECK_THAT(table.out, Catch::Contains("268435456") && Catch::Contains("414187520") &&
                              Catch::Contains("tcg_translation_cache"));
}

TEST_CASE("plan reads standard input, validate reports warnings") {
    auto r = run({launcher(), "plan", "-", "-o", "json", "--accel", "kvm"}, test_files::read(example("tiny.yaml")));
    REQUIRE(r.status == 0);
    CHECK(nlohmann::json::parse(r.out)["guest_bytes"] == 268435456);
    auto v = run({launcher(), "validate", example("seed-undercommit.yaml")});
    CHECK(v.status == 0);
    CHECK_THAT(v.out, Catch::Contains("valid VirtualMachineInstance kubevirt/testvm1"));
    CHECK_THAT(v.err, Catch::Contains("warning: "));
}

TEST_CASE("--help explains every command, --version answers") {
    auto help = run({launcher(), "--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("validate") && Catch::Contains("plan") && Catch::Contains("Exit status"));
    auto plan_help = run({launcher(), "plan", "--help"});
    CHECK(plan_help.status == 0);
    CHECK_THAT(plan_help.out, Catch::Contains("--overhead-model") && Catch::Contains("--memory-overcommit"));
    auto version = run({launcher(), "--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.out, Catch::StartsWith("vmi-launcher "));
}

TEST_CASE("run --balloon-poll-interval is documented; a bad duration is refused before anything starts") {
    const auto help = run({launcher(), "run", "--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("--balloon-poll-interval DURATION"));
    CHECK_THAT(help.out, !Catch::Contains("--balloon-quiet"));  // a test knob, hidden
    check_refused(run({launcher(), "run", example("tiny.yaml"), "--dry-run", "--balloon-poll-interval", "10"}),
                  "--balloon-poll-interval: \"10\" is not a duration such as 500ms, 10s or 1m");
    check_refused(run({launcher(), "run", example("tiny.yaml"), "--dry-run", "--balloon-quiet", "1ms"}),
                  "--balloon-quiet: \"1ms\" is outside 100ms to 1h");
}
