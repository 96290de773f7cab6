#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "render/style.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/options.hpp"

using namespace stackscope;

namespace {

std::string strip(const std::string& text) { return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*m"), ""); }

Snapshot sample() {
    Snapshot snap;
    Thread t;
    t.tid = 4321;
    t.name = "worker-1";
    Frame run;
    run.function = "Worker.run_it";
    run.module = "__main__";
    run.filename = "/srv/app.py";
    run.line = 17;
    run.source = "descend(n, tag)";
    Frame hidden = run;
    hidden.hidden = true;
    Frame leaf;
    leaf.function = "descend\x1b[31m";  // the target's escape is escaped, never ours
    leaf.filename = "/srv/app.py";
    t.stack.frames = {hidden, run, leaf};
    t.stack.leaf = StackLeaf{0x10, "Future", "<Future pending>"};
    snap.threads.push_back(t);
    Thread broken;
    broken.tid = 4322;
    broken.stack.error = ExtractionError{ErrorKind::UnreadableMemory, "cannot read 8 bytes at 0x10", 0x10};
    snap.threads.push_back(broken);
    return snap;
}

}  // namespace

TEST_CASE("painter: SGR codes around the text only when enabled", "[color]") {
    CHECK(Painter{}.paint(Role::Function, "f") == "f");
    CHECK(Painter{true}.paint(Role::Function, "f") == "\x1b[33mf\x1b[0m");
    CHECK(Painter{true}.paint(Role::Error, "") == "");
    const Role roles[] = {Role::Function, Role::Location, Role::Source, Role::ContextComment,
                          Role::Error,    Role::Header,   Role::Leaf};
    for (Role a : roles) {
        for (Role b : roles) {
            if (a != b) CHECK(Painter{true}.paint(a, "x") != Painter{true}.paint(b, "x"));  // each distinct
        }
    }
}

TEST_CASE("color: always and never decide, auto takes the surface's rule", "[color]") {
    CHECK(use_color(ColorChoice::Always, false));
    CHECK_FALSE(use_color(ColorChoice::Never, true));
    CHECK(use_color(ColorChoice::Auto, true));
    CHECK_FALSE(use_color(ColorChoice::Auto, false));
}

TEST_CASE("color: the CLI's auto wants a terminal, no NO_COLOR, a TERM that is not dumb", "[color]") {
    CHECK(terminal_allows_color(true, std::nullopt, "xterm-256color"));
    CHECK_FALSE(terminal_allows_color(false, std::nullopt, "xterm-256color"));  // piped
    CHECK_FALSE(terminal_allows_color(true, "1", "xterm"));
    CHECK_FALSE(terminal_allows_color(true, "0", "xterm"));  // any non-empty value, as no-color.org says
    CHECK(terminal_allows_color(true, "", "xterm"));         // set but empty: not asked
    CHECK_FALSE(terminal_allows_color(true, std::nullopt, "dumb"));
    CHECK_FALSE(terminal_allows_color(true, std::nullopt, std::nullopt));
}

TEST_CASE("color: --color is a value option everywhere, refused with a bad value", "[color][options]") {
    CHECK(OutputOptions{}.color == ColorChoice::Auto);
    const std::vector<std::string> cli = {"--color", "always"};
    CHECK(parse_options(Surface::Lldb, cli).options.color == ColorChoice::Always);
    const std::vector<std::string> gdb = {"-color=never", "-json"};
    const ParsedOptions parsed = parse_options(Surface::Gdb, gdb);
    CHECK(parsed.error == "");
    CHECK(parsed.options.color == ColorChoice::Never);  // accepted with JSON, which never colours
    const std::vector<std::string> bad = {"--color", "sometimes"};
    CHECK(parse_options(Surface::Cli, bad).error == "--color sometimes: expected auto, always or never");
    const std::vector<std::string> two = {"--color=always", "--color=never"};
    CHECK(parse_options(Surface::Cli, two).error == "--color always and --color never cannot be combined");
    const std::vector<std::string> words = {"-color"};
    CHECK(option_completions(Surface::Gdb, words, "a") == std::vector<std::string>{"auto", "always"});
    CHECK_THAT(options_usage(Surface::Cli), Catch::Contains("[--color auto|always|never]"));
}

TEST_CASE("color: tree and flat without their codes are the uncoloured text", "[color][format]") {
    const Snapshot snap = sample();
    for (bool ascii : {false, true}) {
        for (bool hidden : {false, true}) {
            const std::string plain = format_snapshot_tree(snap, {ascii, hidden, false});
            const std::string colored = format_snapshot_tree(snap, {ascii, hidden, true});
            CHECK(colored != plain);
            CHECK(strip(colored) == plain);
            CHECK(plain.find('\x1b') == std::string::npos);
        }
        const std::string plain = format_snapshot_flat(snap, {ascii, false});
        const std::string colored = format_snapshot_flat(snap, {ascii, true});
        CHECK(strip(colored) == plain);
        CHECK(plain.find('\x1b') == std::string::npos);
    }
}

TEST_CASE("color: each element in its role, each line closed", "[color][format]") {
    const std::string tree = format_snapshot_tree(sample(), {.color = true});
    CHECK_THAT(tree, Catch::StartsWith("\x1b[1mThread 4321 \"worker-1\":\x1b[0m\n"));
    CHECK_THAT(tree, Catch::Contains("╠ \x1b[33mWorker.run_it\x1b[0m in __main__ at \x1b[32m/srv/app.py:17\x1b[0m\n"
                                     "║ └ \x1b[34mdescend(n, tag)\x1b[0m\n"));
    CHECK_THAT(tree, Catch::Contains("\x1b[33mdescend\\x1b[31m\x1b[0m"));
    CHECK_THAT(tree, Catch::Contains("╚ \x1b[36m<Future pending>\x1b[0m\n"));
    CHECK_THAT(tree, Catch::Contains("  \x1b[31mError while extracting stack:\x1b[0m\n"
                                     "    \x1b[31mcannot read 8 bytes at 0x10\x1b[0m\n"));
    const std::string flat = format_snapshot_flat(sample(), {.color = true});
    CHECK_THAT(flat, Catch::Contains("  File \"\x1b[32m/srv/app.py\x1b[0m\", line \x1b[32m17\x1b[0m, in "
                                     "\x1b[33mWorker.run_it\x1b[0m\n    \x1b[34mdescend(n, tag)\x1b[0m\n"));
    for (const std::string& text : {tree, flat}) {
        size_t start = 0;
        for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
            const std::string line = text.substr(start, end - start);
            INFO(line);
            if (line.find("\x1b[") != std::string::npos) CHECK(line.ends_with("\x1b[0m"));
        }
    }
    CHECK(format_snapshot_json(sample()).find('\x1b') == std::string::npos);  // the target's escaped, none of ours
}

TEST_CASE("color: the debuggers' own headers and native lines", "[color][format]") {
    CHECK(styled_header("thread #1 (tid 5):", true) == "\x1b[1mthread #1 (tid 5):\x1b[0m");
    CHECK(styled_header("thread #1 (tid 5):", false) == "thread #1 (tid 5):");
}
