#include "launcher/oom_guard.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace launcher {
namespace {

constexpr int immune = -1000;
constexpr int most = 1000;
constexpr int qemu_margin = 500;

int read_score(const std::filesystem::path& file) {
    std::ifstream in(file);
    int value = 0;
    if (!(in >> value)) throw std::runtime_error("read " + file.string() + ": not a number");
    return value;
}

// One write(2), as the kernel wants for /proc files; the errno, or 0.
int write_score(const std::filesystem::path& file, int value) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const std::string text = std::to_string(value);
    const ssize_t n = ::write(fd, text.data(), text.size());
    const int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
    ::close(fd);
    return err;
}

}  // namespace

int qemu_oom_score_adj(int launcher_before, bool launcher_immune) {
    if (launcher_immune) return launcher_before;
    return std::min(most, launcher_before + qemu_margin);
}

OomScores protect_launcher(const std::filesystem::path& file) {
    OomScores s;
    s.launcher_before = read_score(file);
    const int err = write_score(file, immune);
    s.launcher = read_score(file);
    s.launcher_immune = err == 0 && s.launcher == immune;
    if (!s.launcher_immune) {
        s.why_not = err != 0 ? std::string(std::strerror(err)) : "the value did not take";
    }
    s.qemu = qemu_oom_score_adj(s.launcher_before, s.launcher_immune);
    return s;
}

}  // namespace launcher
