// Helpers for the qemu-args tests: temporary directories, VMIs from text,
// and questions about an argv.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../vmi/test_files.hpp"
#include "vmi/validate.hpp"

namespace qemu_test {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "vmil-qemu-args.XXXXXX").string();
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    std::string str(const std::string& child = "") const { return child.empty() ? path_.string() : (path_ / child).string(); }

private:
    fs::path path_;
};

inline void write(const fs::path& path, const std::string& contents) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
}

// A VMI in kubevirt.io/v1 around the given `spec.domain` (and more) text.
inline std::string vmi_yaml(const std::string& spec_body, const std::string& name = "t",
                            const std::string& ns = "default") {
    return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: " + name +
           "\n  namespace: " + ns + "\nspec:\n" + spec_body;
}

// The value after the first `option`, "" when absent.
inline std::string value_of(const std::vector<std::string>& argv, const std::string& option) {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == option) return argv[i + 1];
    }
    return "";
}

// Every value after `option`, in order.
inline std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& option) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == option) out.push_back(argv[i + 1]);
    }
    return out;
}

inline bool has_flag(const std::vector<std::string>& argv, const std::string& flag) {
    for (const auto& a : argv) {
        if (a == flag) return true;
    }
    return false;
}

// The JSON objects given to `option` (-device, -blockdev, -netdev, -object).
inline std::vector<nlohmann::json> json_values(const std::vector<std::string>& argv, const std::string& option) {
    std::vector<nlohmann::json> out;
    for (const auto& v : values_of(argv, option)) out.push_back(nlohmann::json::parse(v));
    return out;
}

// The -device objects with this driver.
inline std::vector<nlohmann::json> devices(const std::vector<std::string>& argv, const std::string& driver) {
    std::vector<nlohmann::json> out;
    for (const auto& d : json_values(argv, "-device")) {
        if (d.value("driver", "") == driver) out.push_back(d);
    }
    return out;
}

// The -blockdev object with this node name (null when none).
inline nlohmann::json blockdev(const std::vector<std::string>& argv, const std::string& node) {
    for (const auto& b : json_values(argv, "-blockdev")) {
        if (b.value("node-name", "") == node) return b;
    }
    return nullptr;
}

}  // namespace qemu_test
