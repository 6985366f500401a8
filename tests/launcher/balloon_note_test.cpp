// Why the balloon did not save an OOM-killed VM, as the log and the
// termination message say it.
#include <catch2/catch.hpp>

#include <signal.h>

#include "launcher/balloon_controller.hpp"
#include "launcher/outcome.hpp"

using namespace launcher;
using vmi::mib;

namespace {

vmi::BalloonDecision decision(vmi::BalloonReason reason, vmi::Bytes target, std::string detail = "") {
    vmi::BalloonDecision d;
    d.reason = reason;
    d.detail = std::move(detail);
    d.state = vmi::balloon_start(target);
    return d;
}

}  // namespace

TEST_CASE("the OOM note names why the balloon could not help") {
    const vmi::Bytes floor = mib(256);
    CHECK(balloon_oom_note(std::nullopt, floor) ==
          "the balloon could not help: no pressure signal reached it before the kill");
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::floor_reached, floor), floor) ==
          "the balloon could not help: it was at its floor of 256 MiB (the memory request), so the guest's working "
          "set does not fit the limit");
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::nothing_to_give, mib(300), "the guest has 70 MiB available"),
                           floor) ==
          "the balloon could not help: the guest had nothing to give (the guest has 70 MiB available)");
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::no_stats, mib(512)), floor) ==
          "the balloon could not help: the guest sent no balloon statistics");
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::stale_stats, mib(400)), floor) ==
          "the balloon could not help: the guest's statistics were not fresh yet after its last inflation");
    // An inflation to the floor is the floor; one above it was still under way.
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::inflate, floor), floor) ==
          "the balloon could not help: it was at its floor of 256 MiB (the memory request)");
    CHECK(balloon_oom_note(decision(vmi::BalloonReason::inflate, mib(300)), floor) ==
          "the balloon could not help in time: it was inflating towards 300 MiB when the kernel killed QEMU");
}

TEST_CASE("the termination message of an OOM kill carries the balloon's note") {
    Ending e;
    e.signal = SIGKILL;
    e.oom_kills = 1;
    e.balloon_note = "the balloon could not help: the guest sent no balloon statistics";
    const EndingReport r{Outcome::oom_killed, e, 397410304, std::nullopt, {}};
    CHECK(termination_message(r) ==
          "OOMKilled: the VM's memory cgroup reached its limit of 397410304 bytes and the kernel's OOM killer killed "
          "QEMU (1 kill, killed by signal 9 (Killed)); the balloon could not help: the guest sent no balloon "
          "statistics");
}
