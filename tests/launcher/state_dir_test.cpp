// The state directory proves it is ours before anything is removed: what a
// user had at the path is refused and left as it was, a running launcher's
// directory is never taken, a stale one of the same VMI is reused, and only
// what this launcher made is removed at the end.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "launcher/state_dir.hpp"

using namespace launcher;
namespace fs = std::filesystem;

namespace {

class Scratch {
public:
    Scratch() : root_(fs::temp_directory_path() / ("state-dir-test-" + std::to_string(::getpid()) + "-" +
                                                   std::to_string(counter_++))) {
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    ~Scratch() { fs::remove_all(root_); }
    const fs::path& root() const { return root_; }

private:
    fs::path root_;
    static inline int counter_ = 0;
};

std::string read(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

// Every entry below `dir` (not following links) with its content or link target.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
        const auto rel = it->path().lexically_relative(dir).string();
        if (it->is_symlink()) {
            out[rel] = "-> " + fs::read_symlink(it->path()).string();
        } else if (it->is_regular_file()) {
            out[rel] = read(it->path());
        } else {
            out[rel] = "<dir>";
        }
    }
    return out;
}

StateDir take(const fs::path& path, const std::string& vm = "ns/vm") {
    std::optional<std::string> stale;
    auto d = StateDir::acquire(path, vm, stale);
    CHECK_FALSE(stale);
    return d;
}

// A directory a launcher of `vm` left when it was killed: its record, its lock free.
void leave_stale(const fs::path& dir, const std::string& vm, pid_t pid) {
    fs::create_directories(dir);
    write(dir / state_lock_name, ownership_record(vm, pid, "0.0.1", "2026-01-01T00:00:00Z"));
}

}  // namespace

TEST_CASE("the ownership record is recognised by its first line and names the VMI") {
    const auto text = ownership_record("ns/vm", 42, "1.2.3", "2026-01-01T00:00:00Z");
    CHECK_THAT(text, Catch::StartsWith(std::string(state_record_magic) + "\n"));
    CHECK(parse_ownership_record(text) == OwnershipRecord{"ns/vm", "42"});
    CHECK_FALSE(parse_ownership_record("12345\n"));  // an old launcher.pid
    CHECK_FALSE(parse_ownership_record(""));
    CHECK_FALSE(parse_ownership_record(std::string(state_record_magic) + "\npid: 1\n"));  // no VMI
    CHECK_FALSE(parse_ownership_record(std::string(state_record_magic) + "x\nvmi: ns/vm\n"));
}

TEST_CASE("a new state directory: 0700, its record and lock, refused to a second launcher") {
    Scratch s;
    const fs::path dir = s.root() / "ns" / "vm";
    {
        StateDir d = take(dir);
        CHECK(fs::is_directory(dir));
        CHECK((fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
        const auto record = parse_ownership_record(read(dir / state_lock_name));
        REQUIRE(record);
        CHECK(*record == OwnershipRecord{"ns/vm", std::to_string(::getpid())});
        CHECK(d.made_parents() == std::vector<fs::path>{s.root() / "ns"});
        // No private name is left beside it.
        CHECK(snapshot(s.root() / "ns").size() == 2);  // vm, vm/launcher.lock

        write(dir / "console.log", "running");
        const auto before = snapshot(s.root());
        std::optional<std::string> stale;
        CHECK_THROWS_AS(StateDir::acquire(dir, "ns/vm", stale), StateDirRefused);
        CHECK_THROWS_WITH(StateDir::acquire(dir, "ns/vm", stale),
                          Catch::Contains("in use: VM ns/vm is already running (launcher pid " +
                                          std::to_string(::getpid()) + ")") &&
                              Catch::Contains("left untouched"));
        CHECK(snapshot(s.root()) == before);
    }
    // Removed with the namespace level it made; the root it did not make stays.
    CHECK_FALSE(fs::exists(dir));
    CHECK_FALSE(fs::exists(s.root() / "ns"));
    CHECK(fs::is_directory(s.root()));
    CHECK(fs::is_empty(s.root()));
}

TEST_CASE("a parent that existed before stays after the run (--state-dir ~/x/one)") {
    Scratch s;
    fs::create_directories(s.root() / "x");
    { StateDir d = take(s.root() / "x" / "one"); }
    CHECK_FALSE(fs::exists(s.root() / "x" / "one"));
    CHECK(fs::is_directory(s.root() / "x"));
}

TEST_CASE("an existing directory without an ownership record is refused and left untouched") {
    Scratch s;
    const fs::path d = s.root() / "d";
    fs::create_directories(d / "sub");
    write(d / "data.txt", "x\n");
    write(d / "sub" / "more.txt", "y\n");
    SECTION("plain data") {}
    SECTION("an old launcher's pid file") { write(d / "launcher.pid", "12345\n"); }
    SECTION("a lock file that is no record") { write(d / state_lock_name, "12345\n"); }
    SECTION("a lock file that is a symbolic link") { fs::create_symlink(d / "data.txt", d / state_lock_name); }
    SECTION("a lock file that is a FIFO") { REQUIRE(::mkfifo((d / state_lock_name).c_str(), 0600) == 0); }
    SECTION("a lock file that is a directory") { fs::create_directory(d / state_lock_name); }
    const auto before = snapshot(s.root());
    std::optional<std::string> stale;
    CHECK_THROWS_AS(StateDir::acquire(d, "ns/vm", stale), StateDirRefused);
    CHECK_THROWS_WITH(StateDir::acquire(d, "ns/vm", stale),
                      Catch::Contains("state directory " + d.string()) && Catch::Contains("no ownership record") &&
                          Catch::Contains("left untouched") && Catch::Contains("choose another --state-dir"));
    CHECK_FALSE(stale);
    CHECK(snapshot(s.root()) == before);
    CHECK(read(d / "data.txt") == "x\n");
}

TEST_CASE("a symbolic link or a file at the path is refused; what it points to is untouched") {
    Scratch s;
    fs::create_directories(s.root() / "target");
    write(s.root() / "target" / "data.txt", "x\n");
    leave_stale(s.root() / "target2", "ns/vm", 999999);
    fs::create_symlink(s.root() / "target", s.root() / "link");
    fs::create_symlink(s.root() / "target2", s.root() / "link2");  // even to a stale state directory
    write(s.root() / "file", "data");
    const auto before = snapshot(s.root());
    std::optional<std::string> stale;
    for (const char* name : {"link", "link2", "file"})
        CHECK_THROWS_WITH(StateDir::acquire(s.root() / name, "ns/vm", stale),
                          Catch::Contains("is not a directory") && Catch::Contains("left untouched"));
    CHECK(snapshot(s.root()) == before);
}

TEST_CASE("another VMI's state directory is refused, running or not") {
    Scratch s;
    const fs::path d = s.root() / "shared";
    leave_stale(d, "other/vm", 999999);
    write(d / "console.log", "theirs");
    const auto before = snapshot(s.root());
    std::optional<std::string> stale;
    CHECK_THROWS_WITH(StateDir::acquire(d, "ns/vm", stale),
                      Catch::Contains("belongs to VM other/vm (launcher pid 999999)") &&
                          Catch::Contains("left untouched"));
    CHECK(snapshot(s.root()) == before);

    fs::remove_all(d);
    StateDir running = take(d, "other/vm");
    CHECK_THROWS_WITH(StateDir::acquire(d, "ns/vm", stale),
                      Catch::Contains("belongs to VM other/vm (running, launcher pid"));
}

TEST_CASE("a stale state directory of the same VMI is emptied and reused, never beyond its own files") {
    Scratch s;
    const fs::path d = s.root() / "ns" / "vm";
    leave_stale(d, "ns/vm", 999999);
    write(d / "console.log", "old");
    fs::create_directories(d / "overlays" / "deep");
    write(d / "overlays" / "deep" / "disk.qcow2", "old");
    write(s.root() / "outside.txt", "keep");
    fs::create_directories(s.root() / "outside-dir");
    write(s.root() / "outside-dir" / "f", "keep");
    fs::create_symlink(s.root() / "outside.txt", d / "link-to-file");
    fs::create_symlink(s.root() / "outside-dir", d / "link-to-dir");
    {
        std::optional<std::string> stale;
        StateDir sd = StateDir::acquire(d, "ns/vm", stale);
        REQUIRE(stale);
        CHECK_THAT(*stale, Catch::Contains("stale") && Catch::Contains("999999") && Catch::Contains(d.string()));
        CHECK(snapshot(d) == std::map<std::string, std::string>{{state_lock_name, read(d / state_lock_name)}});
        CHECK(parse_ownership_record(read(d / state_lock_name))->pid == std::to_string(::getpid()));
        CHECK(sd.made_parents().empty());
    }
    CHECK(read(s.root() / "outside.txt") == "keep");
    CHECK(read(s.root() / "outside-dir" / "f") == "keep");
    CHECK_FALSE(fs::exists(d));
    CHECK(fs::is_directory(s.root() / "ns"));  // not made by this launcher
}

TEST_CASE("launchers started together on one state directory: exactly one takes it, the rest are refused") {
    Scratch s;
    const fs::path dir = s.root() / "ns" / "vm";
    constexpr int launchers = 8;
    for (int round = 0; round < 10; ++round) {
        int gate[2];
        REQUIRE(::pipe(gate) == 0);
        std::vector<pid_t> children;
        for (int i = 0; i < launchers; ++i) {
            const pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                ::close(gate[1]);
                char c;
                (void)::read(gate[0], &c, 1);  // all start at once
                int code = 3;
                try {
                    std::optional<std::string> stale;
                    StateDir d = StateDir::acquire(dir, "ns/vm", stale);
                    ::usleep(500'000);  // holds it while the others try
                    code = stale ? 4 : 0;
                } catch (const StateDirRefused&) {
                    code = 2;
                } catch (...) {
                }
                ::_exit(code);  // after ~StateDir removed what it made
            }
            children.push_back(pid);
        }
        ::close(gate[0]);
        ::close(gate[1]);
        std::map<int, int> codes;
        for (pid_t pid : children) {
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            ++codes[WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status)];
        }
        INFO("round " << round);
        CHECK(codes == std::map<int, int>{{0, 1}, {2, launchers - 1}});
        CHECK_FALSE(fs::exists(dir));
    }
}
