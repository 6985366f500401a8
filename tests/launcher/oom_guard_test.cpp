// The launcher's OOM immunity and QEMU's score: what QEMU gets decided
// purely, and the real /proc file in a child process.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "launcher/oom_guard.hpp"

using namespace launcher;

TEST_CASE("QEMU keeps the launcher's score when the launcher is immune, else goes 500 above it") {
    CHECK(qemu_oom_score_adj(0, true) == 0);
    CHECK(qemu_oom_score_adj(-997, true) == -997);
    CHECK(qemu_oom_score_adj(0, false) == 500);
    CHECK(qemu_oom_score_adj(-997, false) == -497);  // a Guaranteed pod's QEMU stays protected on the node
    CHECK(qemu_oom_score_adj(700, false) == 1000);
    CHECK(qemu_oom_score_adj(1000, false) == 1000);
}

TEST_CASE("a file that takes -1000 makes the launcher immune") {
    const auto file = std::filesystem::temp_directory_path() / ("oom-guard-" + std::to_string(getpid()));
    std::ofstream(file) << "300\n";
    const OomScores s = protect_launcher(file);
    CHECK(s.launcher_before == 300);
    CHECK(s.launcher_immune);
    CHECK(s.launcher == -1000);
    CHECK(s.qemu == 300);
    std::filesystem::remove(file);
}

TEST_CASE("the real /proc/self/oom_score_adj: immune only with CAP_SYS_RESOURCE, and it says why not") {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // A child, so this process keeps its own score.
        const OomScores s = protect_launcher();
        const bool consistent = s.launcher_immune ? s.launcher == -1000 && s.why_not.empty()
                                                  : s.launcher == s.launcher_before && !s.why_not.empty() &&
                                                        s.qemu == qemu_oom_score_adj(s.launcher_before, false);
        const char answer = consistent ? (s.launcher_immune ? 'i' : 'r') : 'x';
        (void)!write(fds[1], &answer, 1);
        _exit(0);
    }
    close(fds[1]);
    char answer = 0;
    REQUIRE(read(fds[0], &answer, 1) == 1);
    close(fds[0]);
    waitpid(pid, nullptr, 0);
    CHECK((answer == 'i' || answer == 'r'));
}
