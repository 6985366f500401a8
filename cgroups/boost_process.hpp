// A Boost.Process (1.74) initializer that puts the child into the VM cgroup
// before exec: bp::child c(exe, args, cgroups::JoinCgroupOnExec{vm.join_fd()});
// On failure the child _exits(join_failed_status) and never runs the program:
// Boost.Process's own error reporting from the child is racy, and the child
// could otherwise exec outside its cgroup.
#pragma once

#include "cgroups/placement.hpp"

// Boost 1.74's process/detail/posix/handles.hpp uses std::unique_ptr
// without including <memory>.
#include <memory>

#include <boost/process/extend.hpp>

namespace cgroups {

struct JoinCgroupOnExec : boost::process::extend::handler {
    int join_fd = -1;

    explicit JoinCgroupOnExec(int fd) : join_fd(fd) {}

    template <typename Executor>
    void on_exec_setup(Executor&) const noexcept {
        join_cgroup_or_exit(join_fd);
    }
};

}  // namespace cgroups
