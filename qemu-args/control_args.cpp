// How the launcher and people reach the VM: QMP and the serial console,
// both on descriptors the launcher creates and passes.
#include <fmt/format.h>

#include <stdexcept>

#include "qemu-args/build_plan.hpp"
#include "qemu-args/plan_parts.hpp"

namespace qemu_args::detail {
namespace {

// sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t max_socket_path = 107;

void check_socket_path(const std::string& path) {
    if (path.size() > max_socket_path) {
        throw std::runtime_error(fmt::format("socket path {} is {} bytes, more than a unix socket can have ({}): "
                                                "choose a shorter state directory",
                                                path, path.size(), max_socket_path));
    }
}

}  // namespace

void add_control(PlanContext& c) {
    // QMP: the launcher binds and listens, QEMU only accepts, so the socket
    // exists (and is the launcher's) before QEMU runs.
    c.plan.qmp_socket = c.state_file("qmp.sock");
    check_socket_path(c.plan.qmp_socket);
    c.plan.fds.push_back({FdSlot::Kind::qmp_listener, qmp_fd_number, ""});
    c.arg("-chardev", fmt::format("socket,id=qmp,fd={},server=on,wait=off", qmp_fd_number));
    c.arg("-mon", "chardev=qmp,mode=control");

    if (!c.spec.domain.devices.autoattach_serial_console) return;
    // The serial console: QEMU gets one end of a socket pair the launcher
    // made before QEMU started, so no early output is lost and nobody else
    // can connect in between. The launcher reads the other end, keeps the
    // log (bounded, rotated) and serves console clients on its own socket.
    c.plan.console_socket = c.state_file("console.sock");
    c.plan.console_log = c.options.console_log.empty() ? c.state_file("console.log") : c.options.console_log;
    c.plan.console_log_max_bytes = c.options.console_log_max_bytes;
    check_socket_path(c.plan.console_socket);
    c.plan.fds.push_back({FdSlot::Kind::console, console_fd_number, ""});
    c.arg("-chardev", fmt::format("socket,id=serial0,fd={}", console_fd_number));
    c.arg("-serial", "chardev:serial0");
}

}  // namespace qemu_args::detail
