// stamp-exec: writes the wall-clock time (CLOCK_REALTIME, in nanoseconds) to
// a file, then execs a program in its place. The benchmark uses it to know
// to the microsecond when a program started:
//
//   stamp-exec --to FILE [--join JOIN] PROGRAM [ARGS...]
//       the launcher's start; with --join, first move into a cgroup by
//       writing "0" to JOIN, its `tasks` file on v1 (QEMU started directly,
//       placed as the launcher places it);
//   VMIL_STAMP_FILE=FILE VMIL_STAMP_EXEC=PROGRAM stamp-exec [ARGS...]
//       as the launcher's --qemu: the moment the launcher execs QEMU.
//
// One line is appended per start, written with a single write(2) before
// exec: "<seconds>.<nanoseconds>", and in the second form also the parent's
// and this process's /proc/PID/schedstat (nanoseconds on a CPU, nanoseconds
// waiting for one), so the benchmark can tell the launcher's own work from
// time it spent waiting on a busy machine.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// "<on cpu> <waiting>" from a schedstat file, or "- -".
void schedstat(const char* path, char* out, std::size_t size) {
    std::snprintf(out, size, "- -");
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[128];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    unsigned long long on_cpu = 0, waiting = 0;
    if (std::sscanf(buf, "%llu %llu", &on_cpu, &waiting) == 2) std::snprintf(out, size, "%llu %llu", on_cpu, waiting);
}

bool stamp(const char* file, bool with_schedstat) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    char parent[64] = "", self[64] = "";
    if (with_schedstat) {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/schedstat", static_cast<int>(::getppid()));
        schedstat(path, parent, sizeof parent);
        schedstat("/proc/self/schedstat", self, sizeof self);
    }
    char line[192];
    const int n = with_schedstat ? std::snprintf(line, sizeof line, "%lld.%09ld %s %s\n", static_cast<long long>(now.tv_sec),
                                                 now.tv_nsec, parent, self)
                                 : std::snprintf(line, sizeof line, "%lld.%09ld\n", static_cast<long long>(now.tv_sec),
                                                 now.tv_nsec);
    const int fd = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    const bool ok = ::write(fd, line, static_cast<std::size_t>(n)) == n;
    ::close(fd);
    return ok;
}

int fail(const char* what, const char* arg) {
    std::fprintf(stderr, "stamp-exec: %s %s: %s\n", what, arg, std::strerror(errno));
    return 127;
}

}  // namespace

bool join(const char* procs) {
    const int fd = ::open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, "0", 1) == 1;
    ::close(fd);
    return ok;
}

int main(int argc, char** argv) {
    if (argc >= 4 && std::strcmp(argv[1], "--to") == 0) {
        int program = 3;
        if (argc >= 6 && std::strcmp(argv[3], "--join") == 0) {
            if (!join(argv[4])) return fail("cannot join the cgroup of", argv[4]);
            program = 5;
        }
        if (!stamp(argv[2], false)) return fail("cannot write", argv[2]);
        ::execv(argv[program], argv + program);
        return fail("cannot exec", argv[program]);
    }
    const char* file = std::getenv("VMIL_STAMP_FILE");
    const char* program = std::getenv("VMIL_STAMP_EXEC");
    if (file == nullptr || program == nullptr) {
        std::fprintf(stderr,
                     "usage: stamp-exec --to FILE [--join CGROUP_TASKS] PROGRAM [ARGS...]\n"
                     "   or: VMIL_STAMP_FILE=FILE VMIL_STAMP_EXEC=PROGRAM stamp-exec [ARGS...]\n");
        return 2;
    }
    if (!stamp(file, true)) return fail("cannot write", file);
    argv[0] = const_cast<char*>(program);
    ::execv(program, argv);
    return fail("cannot exec", program);
}
