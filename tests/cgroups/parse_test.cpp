// The parsers: text in, values out, every edge case here.
#include "cgroups/parse.hpp"

#include <catch2/catch.hpp>

using namespace cgroups;

TEST_CASE("/proc/self/cgroup of a v1 hybrid host names every hierarchy", "[parse]") {
    const auto entries = parse_proc_self_cgroup(
        "9:name=systemd:/\n"
        "4:memory:/process_api/e584185d\n"
        "2:cpu,cpuacct:/\n"
        "0::/\n");
    REQUIRE(entries.size() == 4);
    CHECK(entries[0] == CgroupEntry{9, {"name=systemd"}, "/"});
    CHECK(entries[1] == CgroupEntry{4, {"memory"}, "/process_api/e584185d"});
    CHECK(entries[2] == CgroupEntry{2, {"cpu", "cpuacct"}, "/"});
    CHECK(entries[3] == CgroupEntry{0, {}, "/"});
}

TEST_CASE("/proc/self/cgroup: v2 only, a path with ':' and a namespace's '/..'", "[parse]") {
    CHECK(parse_proc_self_cgroup("0::/user.slice/a:b.scope\n") ==
          std::vector<CgroupEntry>{{0, {}, "/user.slice/a:b.scope"}});
    CHECK(parse_proc_self_cgroup("0::/../../init.scope") == std::vector<CgroupEntry>{{0, {}, "/../../init.scope"}});
    CHECK(parse_proc_self_cgroup("").empty());
}

TEST_CASE("/proc/self/cgroup: malformed lines are errors with the line number", "[parse]") {
    CHECK_THROWS_WITH(parse_proc_self_cgroup("0::/\nmemory:/x\n"), Catch::Contains("line 2"));
    CHECK_THROWS_AS(parse_proc_self_cgroup("x:memory:/"), ParseError);
    CHECK_THROWS_AS(parse_proc_self_cgroup("4:memory:relative"), ParseError);
}

TEST_CASE("mountinfo: cgroup v1, cgroup2 and optional fields", "[parse]") {
    const auto mounts = parse_mountinfo(
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate\n"
        "50 31 0:40 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n");
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0] == MountEntry{"/", "/sys/fs/cgroup/memory", {"rw", "relatime"}, "cgroup", "cgroup", {"rw", "memory"}});
    CHECK(mounts[0].has_super_option("memory"));
    CHECK_FALSE(mounts[0].read_only());
    CHECK(mounts[1].fs_type == "cgroup2");
    CHECK(mounts[1].super_options == std::vector<std::string>{"rw", "nsdelegate"});
    CHECK(mounts[2].root == "/docker/abc");
    CHECK(mounts[2].read_only());
}

TEST_CASE("mountinfo: octal escapes are decoded, a ro super block is read-only", "[parse]") {
    const auto mounts = parse_mountinfo("1 0 0:1 /a\\040b /mnt/with\\040space\\134x rw - cgroup none ro,memory");
    REQUIRE(mounts.size() == 1);
    CHECK(mounts[0].root == "/a b");
    CHECK(mounts[0].mount_point == "/mnt/with space\\x");
    CHECK(mounts[0].read_only());
}

TEST_CASE("mountinfo: a line without the '-' separator is an error", "[parse]") {
    CHECK_THROWS_WITH(parse_mountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw cgroup cgroup rw"),
                      Catch::Contains("line 1") && Catch::Contains("not a mountinfo line"));
}

TEST_CASE("memory.events: every counter, missing ones read as zero", "[parse]") {
    CHECK(parse_memory_events("low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n") ==
          MemoryEvents{.low = 0, .high = 12, .max = 3, .oom = 1, .oom_kill = 2, .oom_group_kill = 1});
    // Kernels before 5.17 have no oom_group_kill; unknown keys are ignored.
    CHECK(parse_memory_events("low 0\nhigh 0\nmax 0\noom 0\noom_kill 4\nsock_throttled 9\n") ==
          MemoryEvents{.oom_kill = 4});
    CHECK_THROWS_WITH(parse_memory_events("low 0\nhigh x\n"), Catch::Contains("line 2"));
    CHECK_THROWS_AS(parse_memory_events("oom_kill 1 2\n"), ParseError);
}

TEST_CASE("memory.oom_control: flags and the oom_kill counter", "[parse]") {
    CHECK(parse_oom_control("oom_kill_disable 0\nunder_oom 1\noom_kill 3\n") ==
          OomControl{.oom_kill_disable = false, .under_oom = true, .oom_kill = 3});
    // Before Linux 4.13 there is no oom_kill line.
    CHECK(parse_oom_control("oom_kill_disable 1\nunder_oom 0\n") ==
          OomControl{.oom_kill_disable = true, .under_oom = false, .oom_kill = std::nullopt});
    CHECK_THROWS_AS(parse_oom_control("oom_kill 3\n"), ParseError);
}

TEST_CASE("memory.stat: every counter by name", "[parse]") {
    const auto stat = parse_memory_stat("anon 1048576\nfile 4096\nthp_fault_alloc 0\n");
    CHECK(stat.at("anon") == 1048576);
    CHECK(stat.at("file") == 4096);
    CHECK(stat.size() == 3);
}

TEST_CASE("limits: numbers, v2 max and v1's unlimited value", "[parse]") {
    CHECK(parse_limit("67108864\n") == 67108864);
    CHECK(parse_limit("max\n") == std::nullopt);
    CHECK(parse_limit("9223372036854771712\n") == std::nullopt);
    CHECK(parse_limit("0") == 0);
    CHECK_THROWS_AS(parse_limit("-1"), ParseError);
    CHECK_THROWS_AS(parse_limit(""), ParseError);
    CHECK(parse_counter(" 42\n") == 42);
}

TEST_CASE("cgroup.procs and controller lists", "[parse]") {
    CHECK(parse_pids("12\n345\n") == std::vector<pid_t>{12, 345});
    CHECK(parse_pids("").empty());
    CHECK_THROWS_AS(parse_pids("12\nabc\n"), ParseError);
    CHECK_THROWS_AS(parse_pids("0\n"), ParseError);
    CHECK(parse_controllers("cpuset cpu io memory pids\n") ==
          std::vector<std::string>{"cpuset", "cpu", "io", "memory", "pids"});
    CHECK(parse_controllers("\n").empty());
}
