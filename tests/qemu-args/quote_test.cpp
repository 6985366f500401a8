// Text bound for QEMU's legacy options and for a shell.
#include <catch2/catch.hpp>

#include "qemu-args/prepare.hpp"
#include "qemu-args/quote.hpp"

using namespace qemu_args;

TEST_CASE("escape_option_value doubles every comma and nothing else") {
    CHECK(escape_option_value("") == "");
    CHECK(escape_option_value("plain/path.img") == "plain/path.img");
    CHECK(escape_option_value("a,b") == "a,,b");
    CHECK(escape_option_value(",,") == ",,,,");
    CHECK(escape_option_value("x,server=off,path=/etc/passwd") == "x,,server=off,,path=/etc/passwd");
    CHECK(escape_option_value("= \"'\\ $") == "= \"'\\ $");
}

TEST_CASE("shell_quote leaves plain words alone and single-quotes the rest") {
    CHECK(shell_quote({}) == "");
    CHECK(shell_quote({"qemu-system-x86_64", "-m", "268435456B", "-smp", "cpus=1,sockets=1"}) ==
          "qemu-system-x86_64 -m 268435456B -smp cpus=1,sockets=1");
    CHECK(shell_quote({"-object", R"({"id":"ram0"})"}) == R"(-object '{"id":"ram0"}')");
    CHECK(shell_quote({"it's"}) == R"('it'\''s')");
    CHECK(shell_quote({""}) == "''");
    CHECK(shell_quote({"a b", "*", "$HOME", "~"}) == "'a b' '*' '$HOME' '~'");
}

TEST_CASE("a POSIX shell splits shell_quote's line back into the same argv") {
    const std::vector<std::string> words = {
        "qemu-system-x86_64", "", "a b", "it's", "\"double\"", "$(touch /nonexistent/x)", "`id`", "a\\b", "*",
        "tab\there", "new\nline", "semi;colon", "amp&", "pipe|", "#hash", "~user", "{\"k\":\"v, w\"}", "end",
    };
    std::string output;
    const int status = run_program({"/bin/sh", "-c", "printf '%s\\0' " + shell_quote(words)}, output);
    REQUIRE(status == 0);
    std::vector<std::string> back;
    std::size_t start = 0;
    for (std::size_t i = 0; i < output.size(); ++i) {
        if (output[i] == '\0') {
            back.push_back(output.substr(start, i - start));
            start = i + 1;
        }
    }
    CHECK(back == words);
}
