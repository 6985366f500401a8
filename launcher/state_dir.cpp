#include "launcher/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace launcher {
namespace {

constexpr const char* lock_name = "launcher.pid";

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

// Opens and locks the pid file; an invalid Fd when another process holds it.
Fd try_lock(const std::filesystem::path& file) {
    Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw_errno("open " + file.string());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return Fd{};
        throw_errno("lock " + file.string());
    }
    return fd;
}

std::string read_pid(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string pid;
    in >> pid;
    return pid.empty() ? "unknown" : pid;
}

}  // namespace

std::filesystem::path default_state_dir(const std::string& state_root, const std::string& ns, const std::string& name) {
    return std::filesystem::path(state_root) / ns / name;
}

StateDir StateDir::acquire(const std::filesystem::path& path, std::optional<std::string>& stale_notice) {
    std::error_code ec;
    if (std::filesystem::exists(path / lock_name, ec)) {
        Fd held = try_lock(path / lock_name);
        if (!held) {
            throw std::runtime_error(fmt::format("{} is in use: this VM is already running (launcher pid {})",
                                                 path.string(), read_pid(path / lock_name)));
        }
    }
    if (std::filesystem::exists(path, ec)) {
        stale_notice = fmt::format("removed the stale state directory {} left by a launcher that did not finish",
                                   path.string());
        std::filesystem::remove_all(path, ec);
        if (ec) throw std::system_error(ec, "remove " + path.string());
    }
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw std::system_error(ec, "mkdir " + path.parent_path().string());
    if (::mkdir(path.c_str(), 0700) != 0) throw_errno("mkdir " + path.string());

    StateDir dir;
    dir.path_ = path;
    dir.owned_ = true;
    dir.lock_ = try_lock(path / lock_name);
    if (!dir.lock_) throw std::runtime_error(path.string() + " was taken by another launcher");
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::write(dir.lock_.get(), pid.data(), pid.size()) < 0) throw_errno("write " + (path / lock_name).string());
    return dir;
}

void StateDir::remove() {
    if (!owned_) return;
    owned_ = false;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    lock_.reset();
    // The namespace directory goes too when this was its last VM.
    std::filesystem::remove(path_.parent_path(), ec);
}

StateDir::~StateDir() { remove(); }

}  // namespace launcher
