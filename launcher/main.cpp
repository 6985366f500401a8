#include <csignal>

#include "launcher/cli.hpp"

int main(int argc, char** argv) {
    // A write to a reader that has gone (a log pipe, `| head`) or past a file
    // size limit fails with EPIPE or EFBIG instead of killing the launcher,
    // and with it the VM it supervises. QEMU gets the defaults back (spawn.cpp).
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    return launcher::run_cli(argc, argv);
}
