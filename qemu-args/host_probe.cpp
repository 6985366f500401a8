// The one effectful part of accelerator choice: reading the host.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "qemu-args/accel.hpp"

namespace qemu_args {

HostProbe probe_host(const std::string& cpuinfo_path, const std::string& kvm_path) {
    HostProbe probe;
    std::ifstream in(cpuinfo_path);
    std::ostringstream text;
    text << in.rdbuf();
    probe.cpuinfo = text.str();
    int fd = ::open(kvm_path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        probe.kvm_opens = true;
        ::close(fd);
    } else {
        probe.kvm_error = std::strerror(errno);
    }
    return probe;
}

}  // namespace qemu_args
