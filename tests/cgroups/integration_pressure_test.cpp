// The balloon's pressure sources on a real memory cgroup: on v1 a usage
// threshold registered through cgroup.event_control, on v2 memory.high set
// below memory.max with its `high` events (the guest suite runs this on
// cgroup2). A hog crossing the mark must make the source readable; a hog
// staying under it must not.
#include "cgroups/file_io.hpp"
#include "cgroups/parse.hpp"
#include "cgroups/pressure.hpp"

#include "integration_support.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <iostream>

using namespace cgroups;
using namespace cgroups_test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t mib = 1 << 20;

bool ready(const PressureSource& s, std::chrono::milliseconds timeout) {
    pollfd p{s.fd(), static_cast<short>(s.priority() ? POLLPRI : POLLIN), 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    return r == 1 && (p.revents & p.events) != 0;
}

// The VM-scope source this version arms for the mark (not PSI: the host's
// and the guest's kernels may have it off).
const PressureSource* vm_source(const PressureWatch& w, Version v) {
    const auto kind = v == Version::v1 ? PressureKind::v1_threshold : PressureKind::v2_high;
    for (const auto& s : w.sources) {
        if (s.scope() == PressureScope::vm && s.kind() == kind) return &s;
    }
    return nullptr;
}

PressureOptions options_for(Version v, std::uint64_t mark) {
    PressureOptions o;
    if (v == Version::v1) o.v1_thresholds = {mark};
    else o.v2_memory_high = mark;
    o.node_psi = "/nonexistent/pressure/memory";  // this test is about the VM cgroup
    return o;
}

}  // namespace

TEST_CASE("balloon pressure: crossing the mark of a real memory cgroup is signalled", "[integration]") {
    const Version version = machine().detection.version;
    auto vm = make_vm("balloon-pressure", {.max_bytes = 256 * mib});
    const std::uint64_t mark = 64 * mib;
    const PressureWatch watch = open_pressure_watch(version, vm.path(), *machine().backend, options_for(version, mark));
    for (const auto& f : watch.fallbacks) std::cout << "pressure fallback: " << f << "\n";
    REQUIRE_FALSE(watch.polling);
    const PressureSource* source = vm_source(watch, version);
    REQUIRE(source != nullptr);
    std::cout << "pressure source: " << source->method() << "\n";
    if (version == Version::v2) {
        CHECK(parse_limit(read_text(vm.path() / "memory.high")) == mark);
    }

    // Under the mark: nothing.
    const pid_t small = spawn_helper(vm, {"hog", "16"});
    const auto small_status = wait_for(small, 60s);
    REQUIRE(small_status);
    CHECK(WEXITSTATUS(*small_status) == 0);
    CHECK_FALSE(ready(*source, 200ms));

    // Over it: the source is readable and says pressure.
    const auto start = std::chrono::steady_clock::now();
    const pid_t big = spawn_helper(vm, {"hog", "120"});
    const bool fired = ready(*source, 60s);
    const auto after = std::chrono::steady_clock::now() - start;
    // On v2 the kernel throttles the hog above memory.high (anonymous memory
    // without swap cannot be reclaimed): it is stopped once it has been seen.
    ::kill(big, SIGKILL);
    REQUIRE(wait_for(big, 60s));
    REQUIRE(fired);
    CHECK(const_cast<PressureSource*>(source)->consume());
    std::cout << "pressure: signalled " << std::chrono::duration<double, std::milli>(after).count()
              << " ms after a 120 MiB hog started (mark " << mark / mib << " MiB)\n";
}
