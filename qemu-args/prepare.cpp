#include "qemu-args/prepare.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "qemu-args/sources.hpp"

extern char** environ;

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

void run_tool(const std::vector<std::string>& argv) {
    std::string output;
    const int status = run_program(argv, output);
    if (status != 0) {
        while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
        throw std::runtime_error(fmt::format("{} exited with status {}{}{}", argv[0], status,
                                             output.empty() ? "" : ": ", output));
    }
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
              s.path});
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

void make_seed(const PrepareStep& s, const PrepareTools& tools, Made& made) {
    std::string templ = s.path + ".XXXXXX";
    if (!::mkdtemp(templ.data())) fail_errno("mkdtemp", templ);
    const std::string dir = templ;
    Made scratch;  // always removed: only the ISO stays
    scratch.dir(dir);
    for (const auto& [name, contents] : s.files) write_file(dir + "/" + name, contents, scratch);
    if (exists(s.path) && ::unlink(s.path.c_str()) != 0) fail_errno("remove", s.path);
    made.file(s.path);
    run_tool({tools.xorrisofs, "-quiet", "-output", s.path, "-volid", "cidata", "-joliet", "-rock", dir});
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
                case PrepareStep::Kind::cloud_init: make_seed(step, tools, made); break;
                case PrepareStep::Kind::copy_file: copy_file(step, made); break;
            }
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("prepare {} {}: {}", step_name(step.kind), step.path, e.what()));
        }
    }
    made.commit();
}

int run_program(const std::vector<std::string>& argv, std::string& output) {
    if (argv.empty()) throw std::invalid_argument("run_program: empty argv");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail_errno("pipe for", argv[0]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int err = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (err != 0) {
        ::close(pipe_fds[0]);
        errno = err;
        fail_errno("run", argv[0]);
    }
    output.clear();
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail_errno("wait for", argv[0]);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace qemu_args
