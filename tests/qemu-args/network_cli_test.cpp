// vmi-launcher qemu-args with networking options: --forward-address and
// --host-port reach the hostfwd rules; bad values are one line, exit 2; a
// link that starts down is a paused QEMU and a note saying what to send.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "golden.hpp"
#include "qemu-args/prepare.hpp"
#include "test_support.hpp"

namespace {

struct Result {
    int status;
    std::string output;
};

Result run(std::vector<std::string> args) {
    const char* path = std::getenv("VMI_LAUNCHER");
    args.insert(args.begin(), path ? path : "vmi-launcher");
    Result r{};
    r.status = qemu_args::run_program(args, r.output);
    return r;
}

std::string write_vmi(const qemu_test::TempDir& dir, const std::string& interface_extra) {
    const std::string body = "  domain:\n    memory: {guest: 256Mi}\n    devices:\n      interfaces:\n"
                             "      - {name: default, masquerade: {}, " +
                             interface_extra + "}\n  networks:\n  - {name: default, pod: {}}\n";
    qemu_test::write(dir.path() / "vmi.yaml", qemu_test::vmi_yaml(body));
    return dir.str("vmi.yaml");
}

}  // namespace

TEST_CASE("qemu-args: --forward-address and --host-port make the hostfwd rules; bad values exit 2") {
    qemu_test::TempDir dir;
    const std::string vmi = write_vmi(dir, "ports: [{port: 8080}, {port: 53, protocol: UDP}]");
    Result r = run({"qemu-args", vmi, "-o", "json", "--accel", "tcg", "--forward-address", "0.0.0.0",
                    "--host-port", "8080=18080"});
    REQUIRE(r.status == 0);
    const auto argv = nlohmann::json::parse(r.output).get<std::vector<std::string>>();
    const auto netdev = qemu_test::json_values(argv, "-netdev").at(0);
    CHECK(netdev["hostfwd"] == nlohmann::json::array({{{"str", "tcp:0.0.0.0:18080-10.0.2.2:8080"}},
                                                      {{"str", "udp:0.0.0.0:53-10.0.2.2:53"}}}));

    for (const std::string bad : {"8080=0", "8080=65536", "8080=x", "0=80", "8080=+80", "8080"}) {
        CAPTURE(bad);
        r = run({"qemu-args", vmi, "--accel", "tcg", "--host-port", bad});
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Catch::StartsWith("error: --host-port"));
    }
    r = run({"qemu-args", vmi, "--accel", "tcg", "--host-port", "9090=19090"});
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Catch::Contains("no interface of the VMI forwards port 9090"));
    r = run({"qemu-args", vmi, "--accel", "tcg", "--forward-address", "localhost"});
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Catch::Contains("--forward-address: \"localhost\" is not an IPv4 address"));
}

TEST_CASE("qemu-args: state down starts QEMU paused and says what to send before cont") {
    qemu_test::TempDir dir;
    const Result r = run({"qemu-args", write_vmi(dir, "state: down, ports: [{port: 22}]"), "--accel", "tcg"});
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains(" -S ") || Catch::EndsWith(" -S\n"));
    CHECK_THAT(r.output, Catch::Contains("note: QEMU starts paused; send over QMP {\"execute\": \"set_link\", "
                                         "\"arguments\": {\"name\":\"ua-default\",\"up\":false}}, then cont"));
}
