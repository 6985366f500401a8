// --overhead-model with KubeVirt's releases and --overhead-ratio, on every
// command that plans memory. Figures for examples/tiny.yaml (requests.memory
// 256Mi, 1 vCPU, autoattachGraphicsDevice: false), by hand:
//   page tables: ceil(268435456 / 1000) = 268436; 268436000 / 512 = 524289.
//   main:  524289 + 240Mi + 8Mi + 8Mi = 524289 + 268435456 = 268959745.
//   v1.6..v1.9 (qemu 30Mi): 524289 + 236Mi = 524289 + 247463936 = 247988225.
//   v1.6 x 1.5: ceil(247988225 / 1000) = 247989 kilo; 247989 x 0.5 = 123994.5,
//   truncated: 123994000 bytes more = 371982225.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../vmi/test_files.hpp"
#include "run_command.hpp"

using test_cmd::launcher;
using test_cmd::run;

namespace {

std::string tiny() { return (test_files::source_root() / "examples" / "tiny.yaml").string(); }

std::uint64_t plan_overhead(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{launcher(), "plan", tiny(), "-o", "json", "--accel", "kvm"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run(argv);
    INFO(r.err);
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out)["overhead_bytes"].get<std::uint64_t>();
}

}  // namespace

TEST_CASE("plan: --overhead-model names a KubeVirt release, --overhead-ratio multiplies its overhead") {
    CHECK(plan_overhead({"--overhead-model", "kubevirt"}) == 268959745);
    for (const char* release : {"kubevirt-v1.9", "kubevirt-v1.8", "kubevirt-v1.7", "kubevirt-v1.6"}) {
        INFO(release);
        CHECK(plan_overhead({"--overhead-model", release}) == 247988225);
    }
    CHECK(plan_overhead({"--overhead-model", "kubevirt-v1.6", "--overhead-ratio", "1.5"}) == 371982225);
    const auto r = run({launcher(), "plan", tiny(), "-o", "json", "--overhead-model", "kubevirt-v1.8"});
    REQUIRE(r.status == 0);
    CHECK(nlohmann::json::parse(r.out)["overhead_model"] == "kubevirt-v1.8");
}

TEST_CASE("a bad --overhead-model or --overhead-ratio is a usage error on every command") {
    const std::vector<std::vector<std::string>> commands{
        {"plan", tiny()}, {"qemu-args", tiny()}, {"run", tiny()}, {"pod", tiny()}, {"capacity", tiny(), "--node-memory", "64Gi"}};
    for (const auto& cmd : commands) {
        INFO(cmd[0]);
        for (const std::vector<std::string>& bad :
             {std::vector<std::string>{"--overhead-model", "kubevirt-v1.5"},
              std::vector<std::string>{"--overhead-ratio", "0.9"}, std::vector<std::string>{"--overhead-ratio", "abc"},
              std::vector<std::string>{"--overhead-ratio", "11"}}) {
            std::vector<std::string> argv{launcher()};
            argv.insert(argv.end(), cmd.begin(), cmd.end());
            argv.insert(argv.end(), bad.begin(), bad.end());
            const auto r = run(argv);
            INFO(bad[0] << " " << bad[1] << ": " << r.err);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
        }
        std::vector<std::string> help{launcher()};
        help.push_back(cmd[0]);
        help.push_back("--help");
        const auto h = run(help);
        CHECK_THAT(h.out, Catch::Contains("--overhead-model") && Catch::Contains("--overhead-ratio") &&
                              Catch::Contains("kubevirt-v1.8"));
    }
}

TEST_CASE("pod: the release and ratio size the pod and reach the launcher inside it") {
    const auto r = run({launcher(), "pod", tiny(), "-o", "json", "--overhead-model", "kubevirt-v1.6", "--overhead-ratio",
                        "1.5"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto pod = nlohmann::json::parse(r.out);
    const auto& c = pod["spec"]["containers"][0];
    std::vector<std::string> args = c["args"].get<std::vector<std::string>>();
    const auto after = [&](const std::string& option) {
        const auto it = std::find(args.begin(), args.end(), option);
        return it == args.end() || it + 1 == args.end() ? std::string() : *(it + 1);
    };
    CHECK(after("--overhead-model") == "kubevirt-v1.6");
    CHECK(after("--overhead-ratio") == "1.5");
    CHECK(pod["metadata"]["annotations"]["vmi-launcher/overhead-bytes"] == "371982225");
}

TEST_CASE("capacity: the launcher's model beside the KubeVirt release asked for") {
    const auto r = run({launcher(), "capacity", tiny(), "--node-memory", "64Gi", "-o", "json", "--overhead-model",
                        "kubevirt-v1.9"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["rows"].size() == 2);
    CHECK(j["rows"][0]["overhead_model"] == "launcher");
    CHECK(j["rows"][1]["overhead_model"] == "kubevirt-v1.9");
    CHECK(j["rows"][1]["overhead_bytes"] == 247988225);
    // The launcher's own model is not a KubeVirt formula to compare with.
    CHECK(run({launcher(), "capacity", tiny(), "--node-memory", "64Gi", "--overhead-model", "launcher"}).status == 2);
}
