// build_launch_plan, control: QMP on the passed listener, the serial
// console on a socket with a log, and the state directory they live in.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;

TEST_CASE("QMP on the passed listener at descriptor 3; the console on a passed socket pair at 4") {
    const auto plan = build(small);
    CHECK(plan.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""}, {FdSlot::Kind::console, 4, ""}});
    CHECK(plan.qmp_socket == state + "/qmp.sock");
    // QEMU writes to a socket the launcher made and reads: no path, no
    // logfile (QEMU's log would grow without bound, in the VM's cgroup).
    CHECK(values_of(plan.argv, "-chardev") ==
          std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off", "socket,id=serial0,fd=4"});
    CHECK(value_of(plan.argv, "-mon") == "chardev=qmp,mode=control");
    CHECK(value_of(plan.argv, "-serial") == "chardev:serial0");
    CHECK(plan.console_socket == state + "/console.sock");
    CHECK(plan.console_log == state + "/console.log");
    CHECK(plan.console_log_max_bytes == 8u << 20);

    LaunchOptions o = options();
    o.console_log = "/var/log/vm.console";
    o.console_log_max_bytes = 65536;
    const auto kept = build(small, {}, o);
    CHECK(kept.console_log == "/var/log/vm.console");
    CHECK(kept.console_log_max_bytes == 65536);
    CHECK(values_of(kept.argv, "-chardev") == values_of(plan.argv, "-chardev"));

    const auto quiet = build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachSerialConsole: false}\n");
    CHECK(values_of(quiet.argv, "-chardev") == std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off"});
    CHECK(quiet.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""}});
    CHECK_FALSE(has_flag(quiet.argv, "-serial"));
    CHECK(quiet.console_socket.empty());
    CHECK(quiet.console_log.empty());
}

TEST_CASE("a state directory with commas and spaces never reaches a -chardev option") {
    LaunchOptions o = options();
    o.state_dir = "/tmp/a,server=off,path=/etc/x d/";
    const auto plan = build(small, {}, o);
    CHECK(plan.state_dir == "/tmp/a,server=off,path=/etc/x d");
    CHECK(values_of(plan.argv, "-chardev") ==
          std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off", "socket,id=serial0,fd=4"});
    CHECK(plan.console_socket == "/tmp/a,server=off,path=/etc/x d/console.sock");
    CHECK(plan.console_log == "/tmp/a,server=off,path=/etc/x d/console.log");
}

TEST_CASE("state directory rules: absolute, and short enough for unix socket paths") {
    LaunchOptions o = options();
    o.state_dir = "relative/dir";
    CHECK_THROWS_AS(build(small, {}, o), std::invalid_argument);
    o.state_dir = "/" + std::string(100, 'x');
    CHECK_THAT(build_error(small, {}, o), Catch::Contains("unix socket") && Catch::Contains("qmp.sock"));
    CHECK(default_state_dir(spec_of(small)) == "/run/vmi-launcher/default/t");
}
