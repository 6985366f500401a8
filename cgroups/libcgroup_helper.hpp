// libcgroup in a short-lived helper process. cgroup_init() fills about
// 0.8 MiB of libcgroup's static tables; made in the launcher, those pages
// would stay resident for the VM's whole life, a fifth of the launcher's
// footprint. So the launcher forks a helper that owns a LibcgroupBackend and
// does the creates and sets for it over a socket pair; release(), once the
// VM cgroup is set up, ends the helper. Removal, action writes and signals
// stay direct, as in LibcgroupBackend.
#pragma once

#include "cgroups/backend.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace cgroups {

class LibcgroupHelperBackend : public DirectBackend {
public:
    // Forks the helper, which starts libcgroup (cgroup_init()) while the
    // launcher goes on. std::system_error when it cannot be started.
    explicit LibcgroupHelperBackend(std::filesystem::path memory_root);

    // Waits until the helper has started libcgroup. Throws std::runtime_error
    // with LibcgroupBackend's reason when libcgroup cannot serve
    // `memory_root` (the helper is gone then). Once is enough; create() and
    // set() wait too.
    void wait_ready();
    ~LibcgroupHelperBackend() override;
    LibcgroupHelperBackend(const LibcgroupHelperBackend&) = delete;
    LibcgroupHelperBackend& operator=(const LibcgroupHelperBackend&) = delete;

    std::string name() const override { return "libcgroup"; }
    // As LibcgroupBackend's, with its errors (std::system_error keeps the
    // errno value); a helper that is gone starts again.
    void create(const std::filesystem::path& dir) override;
    void set(const std::filesystem::path& dir, std::string_view file, std::string_view value) override;
    // Ends the helper without waiting for it; the destructor reaps it unless
    // a waitpid(-1) did.
    void release() override;

    // The helper's pid, -1 when none runs.
    pid_t helper_pid() const { return pid_; }

private:
    void start();
    void call(const std::string& request);

    std::filesystem::path memory_root_;
    int socket_ = -1;
    pid_t pid_ = -1;
    pid_t exiting_ = -1;  // released, not yet reaped
    bool ready_ = false;
};

}  // namespace cgroups
