// --overhead-model and --overhead-ratio, registered the same way on every
// command that plans memory (run, plan, qemu-args, pod, capacity).
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace launcher {

// `kubevirt_only`: the choices leave out "launcher" (capacity compares the
// launcher's model with one of KubeVirt's).
void add_overhead_options(CLI::App& cmd, std::string& model, std::string& ratio, bool kubevirt_only = false);

}  // namespace launcher
