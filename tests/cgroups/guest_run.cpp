// cgroups-guest-run: what the test guest runs (vmil.exec=PATH, no arguments).
// Makes sure cgroup2 is mounted on /sys/fs/cgroup, runs the integration tests
// (installed next to it, with the helper) against it, and prints one verdict
// line for v2-in-guest.sh.
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

constexpr const char* cgroup_root = "/sys/fs/cgroup";

bool cgroup2_mounted() {
    struct statfs st {};
    return ::statfs(cgroup_root, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

int verdict(bool pass, const std::string& why) {
    std::printf("CGROUPS-V2-GUEST: %s%s\n", pass ? "PASS" : "FAIL", why.empty() ? "" : (" (" + why + ")").c_str());
    std::fflush(stdout);
    return pass ? 0 : 1;
}

}  // namespace

int main() {
    if (!cgroup2_mounted()) {
        ::mkdir(cgroup_root, 0755);
        if (::mount("none", cgroup_root, "cgroup2", 0, nullptr) != 0)
            return verdict(false, std::string("mount -t cgroup2 none /sys/fs/cgroup: ") + std::strerror(errno));
    }
    const auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    const auto tests = (dir / "cgroups-integration").string();
    ::setenv("CGROUPS_TEST_HELPER", (dir / "cgroups-test-helper").c_str(), 1);

    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl(tests.c_str(), tests.c_str(), "--durations", "yes", "--use-colour", "no", nullptr);
        std::perror(tests.c_str());
        ::_exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return verdict(false, "cannot run " + tests);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return verdict(true, "");
    return verdict(false, WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                            : "killed by signal " + std::to_string(WTERMSIG(status)));
}
