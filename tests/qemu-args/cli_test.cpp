// vmi-launcher qemu-args: prints the argv as JSON or one shell line, creates
// nothing, and fails with one line naming the volume and the path.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "golden.hpp"
#include "qemu-args/prepare.hpp"
#include "test_support.hpp"

namespace {

std::string launcher() {
    const char* path = std::getenv("VMI_LAUNCHER");
    return path ? path : "vmi-launcher";
}

struct Result {
    int status;
    std::string output;
};

Result run(std::vector<std::string> args) {
    args.insert(args.begin(), launcher());
    Result r{};
    r.status = qemu_args::run_program(args, r.output);
    return r;
}

// Standard output only (warnings go to standard error).
Result run_stdout(std::vector<std::string> args) {
    args.insert(args.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>/dev/null", launcher()});
    Result r{};
    r.status = qemu_args::run_program(args, r.output);
    return r;
}

std::string example(const std::string& name) { return (test_files::source_root() / "examples" / name).string(); }

}  // namespace

TEST_CASE("qemu-args -o json prints the golden argv and creates no state directory") {
    qemu_test::TempDir dir;
    const Result r = run({"qemu-args", example("tiny.yaml"), "-o", "json", "--accel", "tcg", "--image",
                          "vmi-launcher/test-guest=" + qemu_test::fixture("images/test-guest")});
    REQUIRE(r.status == 0);
    CHECK(qemu_test::golden_text(nlohmann::json::parse(r.output).get<std::vector<std::string>>()) ==
          test_files::read(test_files::source_root() / "examples/tiny.argv.json"));

    const Result elsewhere = run({"qemu-args", example("tiny.yaml"), "--accel", "tcg", "-o", "json", "--state-dir",
                                  dir.str("state"), "--qemu", "/opt/qemu/bin/qemu-system-x86_64", "--images-dir",
                                  dir.str("images"), "--image",
                                  "vmi-launcher/test-guest=" + qemu_test::fixture("images/test-guest")});
    REQUIRE(elsewhere.status == 0);
    const auto argv = nlohmann::json::parse(elsewhere.output).get<std::vector<std::string>>();
    CHECK(argv.front() == "/opt/qemu/bin/qemu-system-x86_64");
    CHECK(qemu_test::value_of(argv, "-serial") == "chardev:serial0");
    CHECK_THAT(elsewhere.output, Catch::Contains(dir.str("state") + "/cidata.iso"));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
}

TEST_CASE("qemu-args -o shell prints one line a shell splits into the same argv") {
    const std::vector<std::string> common = {"qemu-args", example("seed-overcommit.yaml"), "--accel", "tcg", "--image",
                                             "<registry_address>/kubevirt/fedora-cloud-registry-disk-demo:latest=" +
                                                 qemu_test::fixture("images/fedora-cloud-registry-disk-demo")};
    auto json_args = common;
    json_args.insert(json_args.end(), {"-o", "json"});
    const Result as_json = run_stdout(json_args);
    REQUIRE(as_json.status == 0);
    const auto argv = nlohmann::json::parse(as_json.output).get<std::vector<std::string>>();

    CHECK_THAT(run(common).output, Catch::Contains("warning: spec.domain.devices.disks[1]: a cdrom on the virtio bus"));
    const Result as_shell = run_stdout(common);
    REQUIRE(as_shell.status == 0);
    std::string line = as_shell.output;
    REQUIRE(line.back() == '\n');
    line.pop_back();
    CHECK(line.find('\n') == std::string::npos);
    std::string split;
    REQUIRE(qemu_args::run_program({"/bin/sh", "-c", "printf '%s\\0' " + line}, split) == 0);
    std::vector<std::string> back;
    for (std::size_t start = 0, end; (end = split.find('\0', start)) != std::string::npos; start = end + 1) {
        back.push_back(split.substr(start, end - start));
    }
    CHECK(back == argv);
}

TEST_CASE("qemu-args: a missing volume file is one line naming the volume and path, exit 2, nothing made") {
    qemu_test::TempDir dir;
    qemu_test::write(dir.path() / "vmi.yaml", qemu_test::vmi_yaml("  domain:\n    memory: {guest: 64Mi}\n"
                                                                  "    devices:\n      disks:\n"
                                                                  "      - {name: data, disk: {}}\n"
                                                                  "  volumes:\n"
                                                                  "  - {name: data, persistentVolumeClaim: {claimName: d}}\n"));
    const Result r = run({"qemu-args", dir.str("vmi.yaml"), "--accel", "tcg", "--volume",
                          "data=" + dir.str("missing, really.img"), "--state-dir", dir.str("state")});
    CHECK(r.status == 2);
    CHECK(r.output == "error: " + dir.str("vmi.yaml") + ": spec.volumes[0]: volume \"data\": no disk file at " +
                          dir.str("missing, really.img") + " (No such file or directory) (line 13, column 5)\n");
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));

    const Result bad = run({"qemu-args", dir.str("vmi.yaml"), "--volume", "no-equals-sign"});
    CHECK(bad.status == 2);
    CHECK(bad.output == "error: --volume: \"no-equals-sign\" is not NAME=VALUE\n");
}
