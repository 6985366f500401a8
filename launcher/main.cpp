#include "launcher/cli.hpp"

int main(int argc, char** argv) { return launcher::run_cli(argc, argv); }
