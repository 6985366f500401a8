// build_launch_plan, control: QMP on the passed listener, the serial
// console on a socket with a log, and the state directory they live in.
#include <catch2/catch.hpp>

#include "plan_test_support.hpp"

using namespace qemu_test;

TEST_CASE("QMP on the passed listener at descriptor 3; the console on a socket with a log") {
    const auto plan = build(small);
    CHECK(plan.fds == std::vector<FdSlot>{{FdSlot::Kind::qmp_listener, 3, ""}});
    CHECK(plan.qmp_socket == state + "/qmp.sock");
    CHECK(values_of(plan.argv, "-chardev") ==
          std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off",
                                   "socket,id=serial0,path=" + state + "/console.sock,server=on,wait=off,logfile=" +
                                       state + "/console.log,logappend=on"});
    CHECK(value_of(plan.argv, "-mon") == "chardev=qmp,mode=control");
    CHECK(value_of(plan.argv, "-serial") == "chardev:serial0");
    CHECK(plan.console_socket == state + "/console.sock");
    CHECK(plan.console_log == state + "/console.log");

    const auto quiet = build("  domain:\n    memory: {guest: 256Mi}\n    devices: {autoattachSerialConsole: false}\n");
    CHECK(values_of(quiet.argv, "-chardev") == std::vector<std::string>{"socket,id=qmp,fd=3,server=on,wait=off"});
    CHECK_FALSE(has_flag(quiet.argv, "-serial"));
    CHECK(quiet.console_socket.empty());
    CHECK(quiet.console_log.empty());
}

TEST_CASE("a state directory with commas and spaces: each path stays one chardev value") {
    LaunchOptions o = options();
    o.state_dir = "/tmp/a,server=off,path=/etc/x d/";
    const auto plan = build(small, {}, o);
    CHECK(plan.state_dir == "/tmp/a,server=off,path=/etc/x d");
    const std::string console = values_of(plan.argv, "-chardev").at(1);
    CHECK(console == "socket,id=serial0,path=/tmp/a,,server=off,,path=/etc/x d/console.sock,server=on,wait=off,"
                     "logfile=/tmp/a,,server=off,,path=/etc/x d/console.log,logappend=on");
    CHECK(legacy_keys(console) ==
          std::vector<std::string>{"socket", "id", "path", "server", "wait", "logfile", "logappend"});
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
