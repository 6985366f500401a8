#include "launcher/input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "vmi/yaml_input.hpp"

namespace launcher {

std::string read_input(const std::string& path) {
    const bool stdin_input = path == "-";
    const int fd = stdin_input ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!stdin_input) ::close(fd);
        throw std::runtime_error("cannot read " + path + ": it is a directory");
    }
    std::string text;
    char buf[65536];
    // Read one byte past the cap: enough for the parser to refuse it by size.
    while (text.size() <= vmi::max_input_bytes) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            if (!stdin_input) ::close(fd);
            throw std::runtime_error("cannot read " + (stdin_input ? std::string("standard input") : path) + ": " +
                                     std::strerror(err));
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    if (!stdin_input) ::close(fd);
    return text;
}

}  // namespace launcher
