#include "qemu-args/prepare.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

// Boost 1.74's process headers miss <memory>.
#include <memory>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/exe.hpp>
#include <fmt/format.h>

#include "qemu-args/sources.hpp"

namespace qemu_args {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_errno(const std::string& operation, const std::string& path) {
    throw std::runtime_error(fmt::format("{} {}: {}", operation, path, std::strerror(errno)));
}

// What preparation made, so a failure can take it back.
class Made {
public:
    ~Made() {
        if (committed_) return;
        for (auto it = files_.rbegin(); it != files_.rend(); ++it) ::unlink(it->c_str());
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
    }
    void file(const std::string& path) { files_.push_back(path); }
    void dir(const std::string& path) { dirs_.push_back(path); }
    void commit() { committed_ = true; }

private:
    std::vector<std::string> files_;
    std::vector<std::string> dirs_;
    bool committed_ = false;
};

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// mkdir -p, remembering each directory it made.
void make_dirs(const std::string& path, Made& made) {
    std::vector<std::string> missing;
    for (fs::path p = path; !p.empty() && p != p.root_path() && !exists(p.string()); p = p.parent_path()) {
        missing.push_back(p.string());
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0700) != 0) fail_errno("mkdir", *it);
        made.dir(*it);
    }
}

// A file the plan puts in the state directory is made there and nowhere
// else: one plain name below it, and never through a symbolic link (a link
// left there would make qemu-img or ftruncate write the file it points at).
void check_state_target(const PrepareStep& step, const std::string& state_dir) {
    const std::string& path = step.path;
    // Only a sparse file may lie elsewhere: a hostDisk DiskOrCreate at its own path.
    if (step.kind == PrepareStep::Kind::sparse_file && !is_within(state_dir, path)) return;
    const fs::path p(path);
    if (p.parent_path() != fs::path(state_dir) || !entry_path(state_dir, p.filename().string())) {
        throw std::runtime_error(fmt::format("{} is not a plain file name in the state directory {}", path, state_dir));
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw std::runtime_error(fmt::format("{} exists and is not a regular file (a symbolic link?): refusing to "
                                             "write through it",
                                             path));
    }
}

constexpr std::size_t max_tool_output = 64 * 1024;
constexpr std::uint64_t nearly_full_bytes = 1 << 20;

// What a tool said, without blank lines and xorriso's banner.
std::string tool_words(const std::string& output) {
    std::string out;
    std::size_t start = 0;
    while (start < output.size()) {
        auto end = output.find('\n', start);
        if (end == std::string::npos) end = output.size();
        const std::string line = output.substr(start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        if (line.find("libburnia project.") != std::string::npos) continue;
        out += (out.empty() ? "" : "; ") + line;
    }
    return out;
}

// Runs a tool that writes `output_file`. A tool that fails on a file
// system with almost nothing free says so in its own way (xorriso: "Image
// size exceeds free space on media"): the error says ENOSPC (the caller
// names the file).
void run_tool(const std::vector<std::string>& argv, const std::string& output_file) {
    std::string output;
    const int status = run_program(argv, output);
    if (status == 0) return;
    const std::string words = tool_words(output);
    const std::string dir = fs::path(output_file).parent_path().string();
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) == 0) {
        const std::uint64_t free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
        if (free_bytes < nearly_full_bytes) {
            throw std::runtime_error(fmt::format("{} (ENOSPC): {} bytes free on the file system of {} ({} exited "
                                                 "with status {}{}{})",
                                                 std::strerror(ENOSPC), free_bytes, dir, argv[0], status,
                                                 words.empty() ? "" : ": ", words));
        }
    }
    throw std::runtime_error(
        fmt::format("{} exited with status {}{}{}", argv[0], status, words.empty() ? "" : ": ", words));
}

void write_file(const std::string& path, const std::string& contents, Made& made) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno("create", path);
    made.file(path);
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            errno = err;
            fail_errno("write", path);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) fail_errno("close", path);
}

void make_overlay(const PrepareStep& s, const PrepareTools& tools, Made& made) {
    made.file(s.path);
    run_tool({tools.qemu_img, "create", "-q", "-f", "qcow2", "-F", to_string(s.source_format), "-b", s.source,
              s.path},
             s.path);
}

void make_sparse(const PrepareStep& s, Made& made) {
    if (exists(s.path)) return;  // a disk that survives restarts
    const int fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno("create", s.path);
    made.file(s.path);
    if (::ftruncate(fd, static_cast<off_t>(s.size.value)) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        fail_errno(fmt::format("ftruncate to {} bytes", s.size.value), s.path);
    }
    ::close(fd);
}

// The folders of a seed file's relative name ("openstack/latest/user_data"),
// made under the scratch directory. The plan names these files itself; a
// name that could leave the directory is refused all the same.
void make_seed_dirs(const std::string& dir, const std::string& name, Made& scratch) {
    std::size_t start = 0;
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', start)) {
        const std::string part = name.substr(start, slash - start);
        if (part.empty() || part == "." || part == "..") {
            throw std::runtime_error(fmt::format("seed file name \"{}\" is not a plain relative path", name));
        }
        const std::string path = dir + "/" + name.substr(0, slash);
        if (!exists(path)) {
            if (::mkdir(path.c_str(), 0700) != 0) fail_errno("mkdir", path);
            scratch.dir(path);
        }
        start = slash + 1;
    }
}

void make_seed(const PrepareStep& s, const PrepareTools& tools, Made& made, const char* label) {
    std::string templ = s.path + ".XXXXXX";
    if (!::mkdtemp(templ.data())) fail_errno("mkdtemp", templ);
    const std::string dir = templ;
    Made scratch;  // always removed: only the ISO stays
    scratch.dir(dir);
    for (const auto& [name, contents] : s.files) {
        make_seed_dirs(dir, name, scratch);
        write_file(dir + "/" + name, contents, scratch);
    }
    if (exists(s.path) && ::unlink(s.path.c_str()) != 0) fail_errno("remove", s.path);
    made.file(s.path);
    run_tool({tools.xorrisofs, "-quiet", "-output", s.path, "-volid", label, "-joliet", "-rock", dir}, s.path);
}

void copy_file(const PrepareStep& s, Made& made) {
    if (exists(s.path)) return;  // the VM's own UEFI variables
    const int in = ::open(s.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) fail_errno("open", s.source);
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(in);
            errno = err;
            fail_errno("read", s.source);
        }
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(in);
    write_file(s.path, data, made);
}

std::string step_name(PrepareStep::Kind kind) {
    switch (kind) {
        case PrepareStep::Kind::overlay: return "overlay";
        case PrepareStep::Kind::sparse_file: return "sparse file";
        case PrepareStep::Kind::cloud_init: return "cloud-init seed";
        case PrepareStep::Kind::config_drive: return "cloud-init config drive";
        case PrepareStep::Kind::copy_file: return "copy";
    }
    return "step";
}

}  // namespace

void prepare_files(const LaunchPlan& plan, const PrepareTools& tools) {
    Made made;
    if (plan.state_dir.empty()) throw std::runtime_error("prepare: the plan names no state directory");
    make_dirs(plan.state_dir, made);
    for (const auto& step : plan.prepare) {
        try {
            check_state_target(step, plan.state_dir);
            switch (step.kind) {
                case PrepareStep::Kind::overlay: make_overlay(step, tools, made); break;
                case PrepareStep::Kind::sparse_file: make_sparse(step, made); break;
                case PrepareStep::Kind::cloud_init: make_seed(step, tools, made, "cidata"); break;
                case PrepareStep::Kind::config_drive: make_seed(step, tools, made, "config-2"); break;
                case PrepareStep::Kind::copy_file: copy_file(step, made); break;
            }
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("prepare {} {}: {}", step_name(step.kind), step.path, e.what()));
        }
    }
    made.commit();
}

// Boost.Process has search_path, but it needs Boost.Filesystem, whose static
// initializer alone keeps 130 KiB of libc resident in the launcher for the
// VM's life (a shared Boost.Filesystem brings the shared libstdc++ back).
std::optional<std::string> find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        // An empty entry is the current directory, as for execvp.
        const fs::path dir = end > start ? fs::path(dirs.substr(start, end - start)) : fs::path(".");
        const fs::path candidate = dir / name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
        start = end + 1;
    }
    return std::nullopt;
}

int run_program(const std::vector<std::string>& argv, std::string& output) {
    namespace bp = boost::process;
    if (argv.empty()) throw std::invalid_argument("run_program: empty argv");
    const auto exe = find_program(argv[0]);
    if (!exe) throw std::runtime_error(fmt::format("run {}: not found on PATH", argv[0]));
    bp::ipstream out;
    std::error_code ec;
    // The launcher blocks the signals it reads from a signalfd and ignores
    // SIGPIPE: the tools start with the defaults.
    bp::child child(bp::exe = *exe, bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())), bp::std_in < bp::null,
                    (bp::std_out & bp::std_err) > out, bp::extend::on_exec_setup = [](auto&) {
                        sigset_t none;
                        ::sigemptyset(&none);
                        ::sigprocmask(SIG_SETMASK, &none, nullptr);
                        ::signal(SIGPIPE, SIG_DFL);
                    },
                    ec);
    if (ec) throw std::runtime_error(fmt::format("run {}: {}", argv[0], ec.message()));
    // The last max_tool_output bytes are what matters (the error).
    output.clear();
    std::string line;
    while (std::getline(out, line)) {
        output += line + "\n";
        if (output.size() > 2 * max_tool_output) output.erase(0, output.size() - max_tool_output);
    }
    if (output.size() > max_tool_output) output.erase(0, output.size() - max_tool_output);
    child.wait(ec);
    if (ec) throw std::runtime_error(fmt::format("wait for {}: {}", argv[0], ec.message()));
    const int status = child.native_exit_code();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace qemu_args
