#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "stackscope/options.hpp"

using namespace stackscope;

namespace {

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

// `words` (options without dashes, as the CLI's would be written) spelled for `surface`.
std::vector<std::string> spelled(Surface surface, const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (const std::string& word : words) {
        const bool value = word == "tree" || word == "flat" || word == "json";
        out.push_back(value && !out.empty() && out.back().ends_with("format")
                          ? word
                          : std::string(option_dashes(surface)) + word);
    }
    return out;
}

ParsedOptions parse(Surface surface, const std::string& words) { return parse_options(surface, split(words)); }

// Every combination the CLI accepts: a format (none, --format X, or an alias), and any of
// --ascii and --show-hidden, in either order.
std::vector<std::vector<std::string>> cli_combinations() {
    const std::vector<std::vector<std::string>> formats = {
        {}, {"format", "tree"}, {"format", "flat"}, {"format", "json"}, {"flat"}, {"json"}, {"json", "format", "json"},
    };
    const std::vector<std::vector<std::string>> flags = {
        {}, {"ascii"}, {"show-hidden"}, {"ascii", "show-hidden"}, {"show-hidden", "ascii"}, {"ascii", "ascii"},
    };
    std::vector<std::vector<std::string>> out;
    for (const auto& format : formats) {
        for (const auto& flag : flags) {
            std::vector<std::string> before = format, after = flag;
            before.insert(before.end(), flag.begin(), flag.end());
            after.insert(after.end(), format.begin(), format.end());
            out.push_back(before);
            out.push_back(after);
        }
    }
    return out;
}

std::vector<GivenOption> given(const std::vector<std::string>& words) {
    std::vector<GivenOption> out;
    for (const std::string& word : words) {
        if ((word == "tree" || word == "flat" || word == "json") && !out.empty() && out.back().name == "format") {
            out.back().value = word;
        } else {
            out.push_back({word, ""});
        }
    }
    return out;
}

}  // namespace

TEST_CASE("options: every combination the CLI accepts is accepted by gdb and lldb, with the same meaning",
          "[options]") {
    for (const auto& words : cli_combinations()) {
        OutputOptions cli;
        const std::vector<GivenOption> options = given(words);
        INFO("CLI words: " << Catch::Detail::stringify(words));
        REQUIRE(apply_options(Surface::Cli, options, cli) == "");
        for (Surface surface : {Surface::Gdb, Surface::Lldb}) {
            const ParsedOptions parsed = parse_options(surface, spelled(surface, words));
            INFO(surface_name(surface) << ": " << Catch::Detail::stringify(spelled(surface, words)));
            CHECK(parsed.error == "");
            CHECK(parsed.positional.empty());
            CHECK(parsed.options == cli);
        }
    }
}

TEST_CASE("options: what each option sets", "[options]") {
    CHECK(parse(Surface::Gdb, "").options == OutputOptions{});
    CHECK(parse(Surface::Gdb, "-json -show-hidden").options ==
          OutputOptions{.format = OutputFormat::Json, .show_hidden = true});
    CHECK(parse(Surface::Lldb, "--json --ascii").options == OutputOptions{.format = OutputFormat::Json, .ascii = true});
    CHECK(parse(Surface::Gdb, "-format json").options.format == OutputFormat::Json);
    CHECK(parse(Surface::Lldb, "--format=flat").options.format == OutputFormat::Flat);
    CHECK(parse(Surface::Gdb, "-format=tree -flat").error == "-format tree and -flat cannot be combined");
    CHECK(parse(Surface::Gdb, "-native -ascii -show-hidden").options ==
          OutputOptions{.ascii = true, .show_hidden = true, .native = true});
    CHECK(parse(Surface::Lldb, "--native --format tree").options == OutputOptions{.native = true});
}

TEST_CASE("options: positional words are left to the front-end", "[options]") {
    const ParsedOptions parsed = parse(Surface::Gdb, "3 -json 4");
    CHECK(parsed.error == "");
    CHECK(parsed.positional == std::vector<std::string>{"3", "4"});
    CHECK(parsed.options.format == OutputFormat::Json);
    CHECK(parse(Surface::Lldb, "-").positional == std::vector<std::string>{"-"});
}

TEST_CASE("options: the refusals are two formats and native outside the tree", "[options]") {
    CHECK(parse(Surface::Gdb, "-flat -json").error == "-flat and -json cannot be combined");
    CHECK(parse(Surface::Lldb, "--json --flat").error == "--json and --flat cannot be combined");
    CHECK(parse(Surface::Lldb, "--format flat --json").error == "--format flat and --json cannot be combined");
    CHECK(parse(Surface::Gdb, "-format tree -format json").error == "-format tree and -format json cannot be combined");
    CHECK(parse(Surface::Gdb, "-native -json").error ==
          "-native works with tree output only: it cannot be combined with -json");
    CHECK(parse(Surface::Lldb, "--flat --native").error ==
          "--native works with tree output only: it cannot be combined with --flat");
    CHECK(parse(Surface::Gdb, "-native -format json").error ==
          "-native works with tree output only: it cannot be combined with -format json");
    OutputOptions cli;
    CHECK(apply_options(Surface::Cli, std::vector<GivenOption>{{"flat", ""}, {"json", ""}}, cli) ==
          "--flat and --json cannot be combined");
}

TEST_CASE("options: unknown options, values and dashes", "[options]") {
    CHECK(parse(Surface::Gdb, "-bogus").error == "unknown option '-bogus'");
    CHECK(parse(Surface::Gdb, "--json").error == "unknown option '--json' (gdb's options take one dash: -json)");
    CHECK(parse(Surface::Lldb, "-json").error == "unknown option '-json' (lldb's options take two dashes: --json)");
    CHECK(parse(Surface::Gdb, "-hidden").error == "unknown option '-hidden'");
    CHECK(parse(Surface::Gdb, "-format").error == "-format needs a value: tree|flat|json");
    CHECK(parse(Surface::Gdb, "-format -json").error == "-format needs a value: tree|flat|json");
    CHECK(parse(Surface::Lldb, "--format xml").error == "--format xml: expected tree, flat or json");
    CHECK(parse(Surface::Lldb, "--flat --format xml").error == "--format xml: expected tree, flat or json");
    CHECK(parse(Surface::Lldb, "--ascii=yes").error == "--ascii takes no value");
    CHECK(parse(Surface::Lldb, "--json=1").error == "--json takes no value");
    OutputOptions cli;
    CHECK(apply_options(Surface::Cli, std::vector<GivenOption>{{"native-all", ""}, {"flat", ""}}, cli) ==
          "--native-all works with tree and json output only: it cannot be combined with --flat");
    CHECK(parse(Surface::Gdb, "-native-all").error == "unknown option '-native-all'");
}

TEST_CASE("options: the CLI's --native and --native-all work with tree and json", "[options]") {
    for (const char* format : {"tree", "json"}) {
        OutputOptions cli;
        CHECK(apply_options(Surface::Cli, std::vector<GivenOption>{{"native", ""}, {"format", format}}, cli) == "");
        CHECK(cli.native);
        CHECK(apply_options(Surface::Cli, std::vector<GivenOption>{{"native-all", ""}}, cli) == "");
        CHECK(cli.native_all);
    }
    OutputOptions cli;
    CHECK(apply_options(Surface::Cli, std::vector<GivenOption>{{"flat", ""}, {"native", ""}}, cli) ==
          "--native works with tree and json output only: it cannot be combined with --flat");
}

TEST_CASE("options: usage and help list each option once per surface", "[options]") {
    CHECK(options_usage(Surface::Cli) ==
          "[--format tree|flat|json | --flat | --json] [--ascii] [--color auto|always|never] [--show-hidden] "
          "[--no-contexts] [--locals] [--tasks] [--locks] [--native] [--native-all]");
    CHECK(options_usage(Surface::Gdb) ==
          "[-format tree|flat|json | -flat | -json] [-ascii] [-color auto|always|never] [-show-hidden] [-no-contexts] "
          "[-locals] [-native]");
    CHECK(options_usage(Surface::Lldb) ==
          "[--format tree|flat|json | --flat | --json] [--ascii] [--color auto|always|never] [--show-hidden] "
          "[--no-contexts] [--locals] [--native]");
    for (Surface surface : {Surface::Cli, Surface::Gdb, Surface::Lldb}) {
        const std::string help = options_help(surface);
        INFO(help);
        std::istringstream lines(help);
        std::vector<std::string> labels;
        for (std::string line; std::getline(lines, line);) {
            CHECK(line.size() <= 79);
            if (line.starts_with("  -")) labels.push_back(line.substr(2, line.find(' ', 2) - 2));
        }
        std::vector<std::string> expected;
        for (const OptionSpec& option : output_options()) {
            if (find_option(surface, option.name) == &option)
                expected.push_back(std::string(option_dashes(surface)) + std::string(option.name));
        }
        CHECK(labels == expected);
    }
    CHECK(options_help(Surface::Gdb).find("native-all") == std::string::npos);
    CHECK(option_description(Surface::Cli, *find_option(Surface::Cli, "native")).ends_with(" (tree and json only)"));
    CHECK(option_description(Surface::Gdb, *find_option(Surface::Gdb, "json")) == "Short for -format json");
    CHECK(option_description(Surface::Cli, *find_option(Surface::Cli, "ascii")) ==
          "Draw the tree with ASCII characters only (tree; ignored by flat and json)");
    CHECK(option_description(Surface::Lldb, *find_option(Surface::Lldb, "native")).ends_with(" (tree only)"));
}

TEST_CASE("options: completion words for gdb", "[options]") {
    using Words = std::vector<std::string>;
    CHECK(option_completions(Surface::Gdb, Words{}, "-") ==
          Words{"-format", "-flat", "-json", "-ascii", "-color", "-show-hidden", "-no-contexts", "-locals", "-native"});
    CHECK(option_completions(Surface::Gdb, Words{"-json"}, "-a") == Words{"-ascii"});
    CHECK(option_completions(Surface::Gdb, Words{"-ascii"}, "-") ==
          Words{"-format", "-flat", "-json", "-color", "-show-hidden", "-no-contexts", "-locals", "-native"});
    CHECK(option_completions(Surface::Gdb, Words{"-format"}, "") == Words{"tree", "flat", "json"});
    CHECK(option_completions(Surface::Gdb, Words{"-format"}, "j") == Words{"json"});
    CHECK(option_completions(Surface::Gdb, Words{}, "-format=f") == Words{"-format=flat"});
    CHECK(option_completions(Surface::Lldb, Words{}, "--s") == Words{"--show-hidden"});
}
