// pod and capacity as a user meets them: the seed's node arithmetic through
// the command line, JSON that parses, errors in one line with exit 2.
#include <catch2/catch.hpp>

#include <map>

#include <nlohmann/json.hpp>

#include "../launcher/run_command.hpp"
#include "../vmi/test_files.hpp"

using test_cmd::launcher;
using test_cmd::run;
using json = nlohmann::json;

namespace {

std::string example(const char* name) { return (test_files::source_root() / "examples" / name).string(); }

constexpr std::int64_t gib = std::int64_t{1} << 30;

}  // namespace

TEST_CASE("capacity: the seed's node, 100 GiB - 2 GiB reserved - 1 GiB system pods = 97 GiB") {
    const auto r = run({launcher(), "capacity", "--node-memory", "100Gi", "--reserved", "2Gi", "--system", "1Gi",
                        example("node-overcommit-10gi.yaml"), example("node-undercommit-9gi.yaml"), "-o", "json"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json j = json::parse(r.out);
    const std::int64_t allocatable = j["node"]["allocatable_bytes"];
    CHECK(allocatable == 97 * gib);
    REQUIRE(j["rows"].size() == 4);  // two VMIs under two overhead models
    for (const auto& row : j["rows"]) {
        INFO(row.dump());
        // 9.7Gi requests: ten fit, by the blog's arithmetic.
        CHECK(row["fit"] == 10);
        CHECK(row["overhead_requested"] == false);
        const std::int64_t guests = row["guests_bytes"];
        const std::int64_t touch = row["touch_bytes"];
        CHECK(row["free_after_guests_bytes"] == allocatable - guests);
        CHECK(row["free_after_touch_bytes"] == allocatable - touch);
        CHECK(row["overcommit_ratio"].get<double>() == Approx(static_cast<double>(touch) / allocatable));
        if (row["vmi"] == "default/node-overcommit") {
            CHECK(guests == 100 * gib);  // 10 guests of 10 GiB on 97 GiB: overcommitted
            CHECK(row["overcommit_ratio"].get<double>() > 1.0);
        } else {
            CHECK(guests == 90 * gib);
            CHECK(row["free_after_guests_bytes"] == 7 * gib);  // about 7 GiB stay free for the node
            CHECK(row["overcommit_ratio"].get<double>() < 1.0);
        }
    }
    const auto table = run({launcher(), "capacity", "--node-memory", "100Gi", "--reserved", "2Gi", "--system", "1Gi",
                            example("node-undercommit-9gi.yaml")});
    REQUIRE(table.status == 0);
    CHECK_THAT(table.out, Catch::Contains("97.00 GiB allocatable") && Catch::Contains("default/node-undercommit") &&
                              Catch::Contains("7.00"));
}

TEST_CASE("capacity: bad quantities and a node with nothing left are one-line errors") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--node-memory", "100Q"}, {"--node-memory", "2Gi", "--reserved", "2Gi"}}) {
        std::vector<std::string> argv{launcher(), "capacity", example("tiny.yaml")};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = run(argv);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::StartsWith("error: "));
    }
}

TEST_CASE("pod: JSON that parses, a List with the ConfigMap, and an invalid VMI refused") {
    const auto pod = run({launcher(), "pod", example("seed-overcommit.yaml"), "-o", "json"});
    REQUIRE(pod.status == 0);
    CHECK(json::parse(pod.out)["kind"] == "Pod");
    const auto list = run({launcher(), "pod", example("seed-overcommit.yaml"), "-o", "json", "--with-configmap"});
    REQUIRE(list.status == 0);
    const json l = json::parse(list.out);
    CHECK(l["kind"] == "List");
    CHECK(l["items"][0]["kind"] == "ConfigMap");
    CHECK(l["items"][1]["kind"] == "Pod");
    const auto yaml = run({launcher(), "pod", example("tiny.yaml"), "--with-configmap"});
    REQUIRE(yaml.status == 0);
    CHECK_THAT(yaml.out, Catch::Contains("\n---\n"));

    const auto bad = run({launcher(), "pod", (test_files::source_root() / "tests/bad-inputs/negative-guest.yaml").string()});
    CHECK(bad.status == 2);
    CHECK(bad.out.empty());
    CHECK_THAT(bad.err, Catch::StartsWith("error: "));
}

TEST_CASE("pod: --overlay-size and --image-size set the emptyDirs' sizeLimits") {
    const auto r = run({launcher(), "pod", example("seed-overcommit.yaml"), "-o", "json", "--overlay-size", "3Gi",
                        "--image-size", "2Gi"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::map<std::string, std::string> limits;
    const json pod = json::parse(r.out);
    for (const auto& v : pod["spec"]["volumes"]) {
        if (v.contains("emptyDir")) limits[v["name"]] = v["emptyDir"]["sizeLimit"];
    }
    // One containerDisk: its overlay (3 GiB) and 32 MiB of the state's own files; one image copied.
    CHECK(limits == std::map<std::string, std::string>{
                        {"state", "3104Mi"}, {"tmp", "64Mi"}, {"images", "2Gi"}, {"tools", "16Mi"}});

    const auto bad = run({launcher(), "pod", example("seed-overcommit.yaml"), "--overlay-size", "2Pi"});
    CHECK(bad.status == 2);
    CHECK_THAT(bad.err, Catch::EndsWith("\nerror: --overlay-size: \"2Pi\" must be more than 0 and at most 1Pi\n"));
}
