// Networking for real: the test guest behind KubeVirt's masquerade layout
// (QEMU's user-mode network stack), a declared port reached from outside
// QEMU, vmNetworkCIDR, and an interface whose link starts down.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "launcher_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using itest::LauncherProcess;

namespace {

// A scratch directory for one test: the VMI, state, console log.
class Scratch : public itest::ScratchDir {
public:
    Scratch() : ScratchDir("vmil-net-itest") {}

    std::string console(const std::string& name) const { return path(name + ".console").string(); }

    std::vector<std::string> run_args(const std::string& name, const std::string& kernel_args,
                                      const std::string& devices_and_networks, std::vector<std::string> extra) const {
        const fs::path file = path(name + ".yaml");
        std::ofstream(file) << itest::test_vmi_yaml(name, "256Mi", "256Mi", kernel_args, devices_and_networks);
        auto a = itest::guest_run_argv(file.string(), console(name));
        a.insert(a.end(), {"--state-root", path("state").string()});
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

// A TCP port nobody listens on at this moment, picked by the kernel.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Connects to 127.0.0.1:port and returns what arrives before the peer closes
// (at most 4 KiB, at most 10 s); "" when the connection fails.
std::string read_from(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    std::string got;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        pollfd p{fd, POLLIN, 0};
        char buf[512];
        while (got.size() < 4096 && ::poll(&p, 1, 10000) > 0) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return got;
}

const std::string one_port = R"(      interfaces:
      - name: default
        masquerade: {}
        ports:
        - {name: hello, port: 8080}
  networks:
  - name: default
    pod: {}
)";

}  // namespace

TEST_CASE("masquerade: the guest gets 10.0.2.2/24 via 10.0.2.1 and fd10:0:2::1 answers; a declared port reaches it "
          "from outside") {
    Scratch s;
    const std::uint16_t host_port = free_port();
    // The guest sets fd10:0:2::2/120 itself (user-mode networking leases no
    // IPv6 address) and pings the gateway KubeVirt's layout puts at fd10:0:2::1.
    LauncherProcess l(s.run_args("fwd",
                                 "vmil.net vmil.ipv6=fd10:0:2::2/120 vmil.ping6=fd10:0:2::1 vmil.listen=8080 vmil.wait",
                                 one_port,
                                 {"--host-port", fmt::format("8080={}", host_port)}));
    const bool listening = itest::wait_for_text(s.console("fwd"), "VMIL: listening 8080", 120s);
    const std::string console = itest::read_file(s.console("fwd"));
    INFO(console);
    INFO(l.output());
    REQUIRE(listening);
    // What KubeVirt's DHCP server would have told the guest.
    CHECK_THAT(console, Catch::Contains("VMIL: netdev eth0 mac=") && Catch::Contains("carrier=1"));
    CHECK_THAT(console, Catch::Contains("VMIL: dhcp eth0 ip=10.0.2.2 subnet=255.255.255.0 router=10.0.2.1"));
    CHECK_THAT(console, Catch::Contains("VMIL: ipv4 eth0 10.0.2.2/24"));
    CHECK_THAT(console, Catch::Contains("VMIL: route default via 10.0.2.1 dev eth0"));
    CHECK_THAT(console, Catch::Contains("VMIL: ipv6 eth0 fd10:0:2::2/120"));
    CHECK_THAT(console, Catch::Contains("VMIL: ping6 fd10:0:2::1 ok"));

    // A connection to the host's side reaches the guest's listener.
    CHECK(read_from(host_port) == "vmil-listen: hello from port 8080\n");

    l.signal(SIGTERM);
    auto stopped = itest::wait_stopped(l, 60s, 0);
    CHECK(stopped["outcome"] == "guest_shutdown");
    // The rule went with QEMU.
    CHECK(read_from(host_port).empty());
}

TEST_CASE("masquerade: vmNetworkCIDR gives the guest the range's third address and the gateway its second") {
    Scratch s;
    const std::string cidr = R"(      interfaces:
      - {name: default, masquerade: {}}
  networks:
  - name: default
    pod: {vmNetworkCIDR: 10.11.12.0/24}
)";
    LauncherProcess l(s.run_args("cidr", "vmil.net", cidr, {}));
    itest::wait_stopped(l, 120s, 0);
    const std::string console = itest::read_file(s.console("cidr"));
    INFO(console);
    CHECK_THAT(console, Catch::Contains("VMIL: dhcp eth0 ip=10.11.12.2 subnet=255.255.255.0 router=10.11.12.1"));
    CHECK_THAT(console, Catch::Contains("VMIL: ipv4 eth0 10.11.12.2/24"));
    CHECK_THAT(console, Catch::Contains("VMIL: route default via 10.11.12.1 dev eth0"));
}

TEST_CASE("state: down: the guest's link is down from its first look, and the VM runs") {
    Scratch s;
    const std::string down = R"(      interfaces:
      - {name: default, masquerade: {}, state: down, ports: [{port: 8080}]}
  networks:
  - name: default
    pod: {}
)";
    const std::uint16_t host_port = free_port();
    LauncherProcess l(s.run_args("down", "vmil.net", down, {"--host-port", fmt::format("8080={}", host_port)}));
    itest::wait_stopped(l, 120s, 0);
    const std::string console = itest::read_file(s.console("down"));
    INFO(console);
    INFO(l.output());
    CHECK_THAT(console, Catch::Contains("VMIL: netdev eth0 mac=") && Catch::Contains("carrier=0"));
    CHECK_THAT(console, Catch::Contains("VMIL: dhcp eth0 failed (no carrier)"));
    CHECK_THAT(console, Catch::Contains("VMIL: poweroff"));
    // The launcher set the link down while QEMU was paused, then let it run.
    auto link = l.wait_event("startup_command", 1s);
    REQUIRE(link);
    CHECK((*link)["command"] == "set_link");
    CHECK((*link)["arguments"] == nlohmann::json{{"name", "ua-default"}, {"up", false}});
    CHECK(l.wait_event("guest_resumed", 1s));
}

TEST_CASE("--dry-run says the link is set down while the guest is paused") {
    Scratch s;
    const std::string down = R"(      interfaces:
      - {name: default, masquerade: {}, state: down}
  networks:
  - name: default
    pod: {}
)";
    LauncherProcess l(s.run_args("dry", "", down, {"--dry-run"}));
    const auto code = l.wait_exit(30s);
    REQUIRE(code);
    CHECK(*code == 0);
    INFO(l.output());
    CHECK_THAT(l.output(), Catch::Contains(" -S") && Catch::Contains("while the guest is paused: QMP set_link "
                                                                     "{\"name\":\"ua-default\",\"up\":false}") &&
                               Catch::Contains("QMP cont: the guest starts"));
}
