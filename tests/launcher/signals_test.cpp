// Which signal does what, and when two signals are one request.
#include <catch2/catch.hpp>

#include <signal.h>

#include "launcher/signals.hpp"

using namespace launcher;
using namespace std::chrono_literals;

TEST_CASE("each signal the launcher takes has a deliberate action") {
    for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) CHECK(signal_action(s) == SignalAction::shutdown);
    CHECK(signal_action(SIGCHLD) == SignalAction::reap);
    for (int s : {SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGXCPU, SIGRTMIN, SIGRTMAX})
        CHECK(signal_action(s) == SignalAction::ignore);
}

TEST_CASE("one sender's signals within the window are one request") {
    ShutdownRequests r(1000ms);
    const auto t0 = std::chrono::steady_clock::time_point(10s);
    CHECK(r.is_new(42, t0));
    // timeout(1): the launcher, then its process group, microseconds apart.
    CHECK_FALSE(r.is_new(42, t0 + 50us));
    CHECK_FALSE(r.is_new(42, t0 + 900ms));
    // The same sender a while later: a second request.
    CHECK(r.is_new(42, t0 + 1500ms));
    // Another sender at once: a second request too.
    CHECK(r.is_new(7, t0 + 1501ms));
    CHECK_FALSE(r.is_new(7, t0 + 1600ms));
}
