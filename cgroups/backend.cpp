#include "cgroups/backend.hpp"

#include "cgroups/file_io.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cgroups {

void DirectBackend::create(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0)
        throw std::system_error(errno, std::generic_category(), "mkdir " + dir.string());
}

void DirectBackend::set(const std::filesystem::path& dir, std::string_view file, std::string_view value) {
    write_text(dir / file, value);
}

void DirectBackend::remove(const std::filesystem::path& dir) {
    if (::rmdir(dir.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(), "rmdir " + dir.string());
}

void DirectBackend::write(const std::filesystem::path& file, std::string_view value) { write_text(file, value); }

bool DirectBackend::signal(pid_t pid, int signal_number) {
    if (::kill(pid, signal_number) == 0) return true;
    if (errno == ESRCH) return false;
    throw std::system_error(errno, std::generic_category(), "kill " + std::to_string(pid));
}

}  // namespace cgroups
