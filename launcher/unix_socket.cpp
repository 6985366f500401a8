#include "launcher/unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace launcher {
namespace {

sockaddr_un address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "socket path " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

}  // namespace

std::string short_socket_path(const std::filesystem::path& path, Fd& holder) {
    if (path.string().size() < sizeof(sockaddr_un{}.sun_path)) return path.string();
    holder = Fd(::open(path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!holder) throw std::system_error(errno, std::generic_category(), "open " + path.parent_path().string());
    return "/proc/self/fd/" + std::to_string(holder.get()) + "/" + path.filename().string();
}

Fd listen_unix(const std::filesystem::path& path, int backlog) {
    Fd holder;
    const sockaddr_un addr = address(short_socket_path(path, holder));
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw std::system_error(errno, std::generic_category(), "socket for " + path.string());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::system_error(errno, std::generic_category(), "bind " + path.string());
    }
    if (::listen(fd.get(), backlog) != 0) throw std::system_error(errno, std::generic_category(), "listen " + path.string());
    return fd;
}

Fd connect_unix(const std::filesystem::path& path) {
    Fd holder;
    const sockaddr_un addr = address(short_socket_path(path, holder));
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw std::system_error(errno, std::generic_category(), "socket for " + path.string());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::system_error(errno, std::generic_category(), "connect " + path.string());
    }
    return fd;
}

}  // namespace launcher
