// cgroups-test-helper: the processes the integration tests put into cgroups.
//   hog MIB        touch MIB MiB of anonymous memory, then exit 0
//   sleep          wait until killed
//   orphan         start a grandchild that sleeps, print its pid, exit 0
//   group-hog MIB  start a sibling that sleeps, print its pid, then hog MIB
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void hog(long mib) {
    constexpr std::size_t chunk = 1 << 20;
    for (long i = 0; i < mib; ++i) {
        void* p = ::mmap(nullptr, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("mmap");
            std::exit(2);
        }
        std::memset(p, 0x5a, chunk);  // touch every page, so it is charged
    }
}

[[noreturn]] void sleep_forever() {
    for (;;) ::pause();
}

pid_t start_sleeper() {
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        std::exit(2);
    }
    if (pid == 0) {
        ::setsid();
        sleep_forever();
    }
    std::printf("%d\n", pid);
    std::fflush(stdout);
    return pid;
}

int usage() {
    std::fprintf(stderr, "usage: cgroups-test-helper hog MIB | sleep | orphan | group-hog MIB\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string command = argv[1];
    if (command == "hog" && argc == 3) {
        hog(std::atol(argv[2]));
        return 0;
    }
    if (command == "sleep") sleep_forever();
    if (command == "orphan") {
        start_sleeper();
        return 0;
    }
    if (command == "group-hog" && argc == 3) {
        start_sleeper();
        hog(std::atol(argv[2]));
        return 0;
    }
    return usage();
}
