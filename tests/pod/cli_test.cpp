// pod and capacity as a user meets them: the seed's node arithmetic through
// the command line, JSON that parses, errors in one line with exit 2.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// A memory quantity the pod command prints ("1088Mi", "2Gi" or plain bytes).
std::int64_t vmi_bytes(const json& quantity) {
    const std::string q = quantity.get<std::string>();
    for (const auto& [suffix, shift] : {std::pair{"Ki", 10}, {"Mi", 20}, {"Gi", 30}}) {
        if (q.size() > 2 && q.ends_with(suffix)) return std::stoll(q.substr(0, q.size() - 2)) << shift;
    }
    return std::stoll(q);
}

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

namespace {

std::string pod_manifest(const char* name) {
    return (test_files::source_root() / "tests/pod/manifests" / name).string();
}

// A scratch directory removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char pattern[] = "/tmp/vmil-pod-cli-XXXXXX";
        REQUIRE(::mkdtemp(pattern));
        path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// The JSON objects QEMU's argv gives after `option` (-blockdev, -object).
std::vector<json> json_args(const json& argv, const std::string& option) {
    std::vector<json> out;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == option) out.push_back(json::parse(argv[i + 1].get<std::string>()));
    }
    return out;
}

}  // namespace

TEST_CASE("pod: the hugepages mount is where the QEMU argv's mem-path points, for both page sizes") {
    TempDir tmp;
    std::filesystem::create_directories(tmp.path / "image/disk");
    std::ofstream(tmp.path / "image/disk/disk.img") << std::string(4096, '\0');
    std::ofstream(tmp.path / "data.img") << std::string(4096, '\0');
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {"hugepages-2m.yaml", {"--image", "quay.io/containerdisks/fedora:40=" + (tmp.path / "image").string()}},
        {"hugepages-1g.yaml", {"--volume", "data=" + (tmp.path / "data.img").string()}},
    };
    for (const auto& [file, sources] : cases) {
        INFO(file);
        const auto pod = run({launcher(), "pod", pod_manifest(file.c_str()), "-o", "json"});
        INFO(pod.err);
        REQUIRE(pod.status == 0);
        std::string mount_path;
        const json rendered = json::parse(pod.out);
        for (const auto& m : rendered["spec"]["containers"][0]["volumeMounts"]) {
            if (m["name"] == "hugepages") mount_path = m["mountPath"];
        }
        std::vector<std::string> argv{launcher(), "qemu-args", pod_manifest(file.c_str()), "--accel", "tcg", "-o",
                                      "json"};
        argv.insert(argv.end(), sources.begin(), sources.end());
        const auto qemu = run(argv);
        INFO(qemu.err);
        REQUIRE(qemu.status == 0);
        std::string mem_path;
        for (const auto& o : json_args(json::parse(qemu.out), "-object")) {
            if (o.contains("mem-path")) mem_path = o["mem-path"];
        }
        CHECK(!mem_path.empty());
        CHECK(mount_path == mem_path);
    }
}

TEST_CASE("pod --volume-mode NAME=block: the device the pod attaches is opened by QEMU as a host_device") {
    const auto pod = run({launcher(), "pod", pod_manifest("claims.yaml"), "-o", "json", "--volume-mode",
                          "rootdisk=block", "--volume-mode", "scratch=filesystem"});
    INFO(pod.err);
    REQUIRE(pod.status == 0);
    const json compute = json::parse(pod.out)["spec"]["containers"][0];
    REQUIRE(compute["volumeDevices"].size() == 1);
    const std::string device_path = compute["volumeDevices"][0]["devicePath"];
    const std::string args = compute["args"].dump();
    // The launcher in the pod looks for the volume in its --volumes-dir.
    const std::filesystem::path in_pod(device_path);
    CHECK_THAT(args, Catch::Contains("\"--volumes-dir\",\"" + in_pod.parent_path().string() + "\""));

    // The same layout here: a block device node named as in the pod (loop
    // device 7:0, never read past its first bytes), a filesystem claim's
    // directory with disk.img, and the ephemeral claim's image.
    TempDir tmp;
    const auto node = tmp.path / in_pod.filename();
    REQUIRE(::mknod(node.c_str(), S_IFBLK | 0600, makedev(7, 0)) == 0);
    std::filesystem::create_directories(tmp.path / "scratch");
    std::ofstream(tmp.path / "scratch/disk.img") << std::string(4096, '\0');
    std::ofstream(tmp.path / "golden") << std::string(4096, '\0');
    const auto qemu = run({launcher(), "qemu-args", pod_manifest("claims.yaml"), "--accel", "tcg", "-o", "json",
                           "--volumes-dir", tmp.path.string()});
    INFO(qemu.err);
    REQUIRE(qemu.status == 0);
    std::map<std::string, std::string> drivers;
    for (const auto& b : json_args(json::parse(qemu.out), "-blockdev")) {
        if (b.contains("filename")) drivers[b["filename"]] = b["driver"];
    }
    CHECK(drivers[node.string()] == "host_device");
    CHECK(drivers[(tmp.path / "scratch/disk.img").string()] == "file");

    for (const char* bad : {"rootdisk", "rootdisk=raw", "=block"}) {
        const auto r = run({launcher(), "pod", pod_manifest("claims.yaml"), "--volume-mode", bad});
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("error: --volume-mode: \"" + std::string(bad) +
                                          "\" is not NAME=block or NAME=filesystem"));
    }
    const auto twice = run({launcher(), "pod", pod_manifest("claims.yaml"), "--volume-mode", "rootdisk=block",
                            "--volume-mode", "rootdisk=filesystem"});
    CHECK(twice.status == 2);
    CHECK_THAT(twice.err, Catch::Contains("volume \"rootdisk\" is given more than once"));
}

TEST_CASE("pod --memory-limit ceiling: a Burstable pod for a ballooned VM; refused with dedicated CPUs") {
    const auto r = run({launcher(), "pod", pod_manifest("overcommit.yaml"), "-o", "json", "--memory-limit", "ceiling"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json res = json::parse(r.out)["spec"]["containers"][0]["resources"];
    const auto requests = vmi_bytes(res["requests"]["memory"]);
    const auto limits = vmi_bytes(res["limits"]["memory"]);
    CHECK(limits - requests == 256 << 20);  // ceiling 512Mi - floor 256Mi; the same overhead on both

    const auto off = run({launcher(), "pod", pod_manifest("overcommit.yaml"), "--memory-limit", "ceiling", "--balloon",
                          "off"});
    CHECK(off.status == 0);
    CHECK_THAT(off.err, Catch::Contains("note: --memory-limit ceiling: the launcher will not balloon this VM "
                                        "(--balloon off)"));

    const auto pinned = run({launcher(), "pod", pod_manifest("dedicated.yaml"), "--memory-limit", "ceiling"});
    CHECK(pinned.status == 2);
    CHECK(pinned.out.empty());
    CHECK_THAT(pinned.err, Catch::Contains("error: --memory-limit ceiling: dedicatedCpuPlacement needs a "
                                           "Guaranteed pod"));
}
