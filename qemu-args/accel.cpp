#include "qemu-args/accel.hpp"

#include <stdexcept>

namespace qemu_args {

bool cpu_has_virtualization(std::string_view cpuinfo) {
    std::size_t pos = 0;
    while (pos < cpuinfo.size()) {
        std::size_t end = cpuinfo.find('\n', pos);
        if (end == std::string_view::npos) end = cpuinfo.size();
        std::string_view line = cpuinfo.substr(pos, end - pos);
        pos = end + 1;
        if (!line.starts_with("flags")) continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view flags = line.substr(colon + 1);
        std::size_t i = 0;
        while (i < flags.size()) {
            while (i < flags.size() && flags[i] == ' ') ++i;
            std::size_t j = flags.find(' ', i);
            if (j == std::string_view::npos) j = flags.size();
            std::string_view flag = flags.substr(i, j - i);
            if (flag == "vmx" || flag == "svm") return true;
            i = j;
        }
    }
    return false;
}

AccelChoice choose_accel(AccelRequest request, const HostProbe& host) {
    switch (request) {
        case AccelRequest::kvm: return {vmi::Accel::kvm, "asked for with --accel kvm"};
        case AccelRequest::tcg: return {vmi::Accel::tcg, "asked for with --accel tcg"};
        case AccelRequest::auto_: break;
    }
    if (!host.kvm_opens) {
        return {vmi::Accel::tcg, "/dev/kvm cannot be opened" + (host.kvm_error.empty() ? "" : " (" + host.kvm_error + ")")};
    }
    if (!cpu_has_virtualization(host.cpuinfo)) {
        return {vmi::Accel::tcg, "/dev/kvm opens but the CPU flags show neither vmx nor svm (guests would hang)"};
    }
    return {vmi::Accel::kvm, "/dev/kvm opens and the CPU has hardware virtualisation"};
}

AccelRequest parse_accel_request(std::string_view text) {
    if (text == "auto") return AccelRequest::auto_;
    if (text == "kvm") return AccelRequest::kvm;
    if (text == "tcg") return AccelRequest::tcg;
    throw std::invalid_argument("accelerator must be auto, kvm or tcg");
}

}  // namespace qemu_args
