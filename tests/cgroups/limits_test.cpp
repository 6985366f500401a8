// Which file gets which value: the pure part of applying limits.
#include "cgroups/limits.hpp"

#include <catch2/catch.hpp>

using namespace cgroups;

constexpr std::uint64_t mib64 = 64ull << 20;

TEST_CASE("v1: the memory limit, then memsw equal to it where swap is accounted", "[limits]") {
    CHECK(limit_writes(Version::v1, {.max_bytes = mib64}, true) ==
          std::vector<FileWrite>{{"memory.limit_in_bytes", "67108864"}, {"memory.memsw.limit_in_bytes", "67108864"}});
    CHECK(limit_writes(Version::v1, {.max_bytes = mib64}, false) ==
          std::vector<FileWrite>{{"memory.limit_in_bytes", "67108864"}});
}

TEST_CASE("v1: swap asked for leaves memsw alone; memory.high has no v1 file", "[limits]") {
    CHECK(limit_writes(Version::v1, {.max_bytes = mib64, .high_bytes = 32ull << 20, .swap = true}, true) ==
          std::vector<FileWrite>{{"memory.limit_in_bytes", "67108864"}});
}

TEST_CASE("v2: max, no swap, the OOM killer takes the whole group, high when asked", "[limits]") {
    CHECK(limit_writes(Version::v2, {.max_bytes = mib64}, true) ==
          std::vector<FileWrite>{{"memory.max", "67108864"}, {"memory.swap.max", "0"}, {"memory.oom.group", "1"}});
    CHECK(limit_writes(Version::v2, {.max_bytes = mib64, .high_bytes = 48ull << 20}, false) ==
          std::vector<FileWrite>{{"memory.max", "67108864"}, {"memory.oom.group", "1"}, {"memory.high", "50331648"}});
    CHECK(limit_writes(Version::v2, {.max_bytes = mib64, .swap = true}, true) ==
          std::vector<FileWrite>{{"memory.max", "67108864"}, {"memory.oom.group", "1"}});
}

TEST_CASE("limits that make no sense are refused", "[limits]") {
    CHECK_THROWS_WITH(validate({.max_bytes = 0}), Catch::Contains("0 bytes"));
    CHECK_THROWS_WITH(validate({.max_bytes = mib64, .high_bytes = mib64}),
                      Catch::Contains("memory.high 67108864") && Catch::Contains("below the limit 67108864"));
    CHECK_NOTHROW(validate({.max_bytes = mib64, .high_bytes = mib64 - 1}));
}

TEST_CASE("adopt: the found limit against the plan, both numbers in the warning", "[limits]") {
    CHECK(compare_limit("/sys/fs/cgroup", mib64, {.max_bytes = mib64}) == std::nullopt);
    // The kernel keeps whole pages.
    CHECK(compare_limit("/sys/fs/cgroup", 999997440, {.max_bytes = 1000000000}) == std::nullopt);
    CHECK(compare_limit("/sys/fs/cgroup", 1073741824, {.max_bytes = 1048576000}) ==
          "adopted cgroup /sys/fs/cgroup has a memory limit of 1073741824 bytes; the plan asks for 1048576000 bytes");
    CHECK(compare_limit("/x", std::nullopt, {.max_bytes = mib64}) ==
          "adopted cgroup /x has no memory limit; the plan asks for 67108864 bytes");
}
