// Starting QEMU: no shell, inside its cgroup before exec, killed if the
// launcher dies, in its own process group (a terminal's Ctrl-C reaches the
// launcher, which shuts the guest down properly), holding only the
// descriptors it needs, its standard error captured.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/process/async_pipe.hpp>

namespace launcher {

struct SpawnRequest {
    std::vector<std::string> argv;                // argv[0] is the program's path
    std::vector<std::pair<int, int>> fds;         // (descriptor here, number in the child)
    int cgroup_join_fd = -1;                     // join this cgroup before exec; -1: stay
    std::string oom_score_adj;                    // written to /proc/self/oom_score_adj before exec; empty: inherit
};

// Starts the program with its standard error on `stderr_pipe` (the caller's:
// an async_pipe is best never copied or moved) and returns its pid. Throws
// std::runtime_error with the reason when the program cannot start.
pid_t spawn(const SpawnRequest& request, boost::process::async_pipe& stderr_pipe);

// The descriptor moved to the lowest free number at or above
// move_high_base, above every number the launch plan places a descriptor at
// (QMP's 3 and the serial console's; a tap keeps its own number, which is
// open and so never chosen), so that placing the child's descriptors never
// overwrites another source. Low enough for a launcher run with a small
// RLIMIT_NOFILE (ulimit -n 64); throws naming the limit when no number is free.
inline constexpr int move_high_base = 10;
int move_high(int fd);

}  // namespace launcher
