#pragma once
// The output options, described once for every surface: the CLI (`--show-hidden`), gdb's
// `py-stackscope` (`-show-hidden`, one dash as gdb's own commands take) and lldb's
// `stackscope` (`--show-hidden`). The table (output_options(), core/render/options.cpp) says
// each option's name, value, help, surfaces and the formats it affects; the parser, the
// combination check, the usage and help texts and gdb's completion are all made from it, so
// every surface accepts the same names and the same combinations.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stackscope {

enum class OutputFormat { Tree, Flat, Json };

// "tree", "flat", "json".
std::string_view format_name(OutputFormat format);

// --color: Auto leaves it to where the text goes (a terminal, the debugger's own setting).
enum class ColorChoice { Auto, Always, Never };

// "auto", "always", "never".
std::string_view color_name(ColorChoice choice);
// Whether to colour: Always and Never decide; Auto takes `automatic`, what the surface's own
// rule says (terminal_allows_color for the CLI, gdb's `set style enabled`, lldb's use-color).
bool use_color(ColorChoice choice, bool automatic);
// The CLI's rule for Auto, from what the environment says: the output is a terminal, NO_COLOR
// (https://no-color.org) is unset or empty, and TERM is set and not "dumb" (gdb's and git's
// rule: without TERM nothing says the terminal understands colour).
bool terminal_allows_color(bool is_terminal, std::optional<std::string_view> no_color,
                           std::optional<std::string_view> term);

// What the options ask of a renderer.
struct OutputOptions {
    OutputFormat format = OutputFormat::Tree;
    bool ascii = false;
    bool show_hidden = false;
    bool native = false;       // native frames in the tree (the debugger's; the CLI's own, collapsed)
    bool native_all = false;   // the CLI's native frames, the interpreter's own included
    bool no_contexts = false;  // leave out the frames' with-blocks
    bool locals = false;       // each frame's arguments and other local variables
    bool tasks = false;        // every asyncio task, after the threads, as trees of who awaits whom
    bool locks = false;        // after the threads: who holds and who waits for each lock, the deadlocks
    ColorChoice color = ColorChoice::Auto;

    bool operator==(const OutputOptions&) const = default;
};

enum class Surface { Cli, Gdb, Lldb };

// How options are spelled there: "--" (CLI, lldb) or "-" (gdb).
std::string_view option_dashes(Surface surface);
// "the CLI", "gdb", "lldb".
std::string_view surface_name(Surface surface);

// Sets of surfaces and of formats, as bits.
using SurfaceSet = unsigned;
inline constexpr SurfaceSet kOnCli = 1u << static_cast<unsigned>(Surface::Cli);
inline constexpr SurfaceSet kOnGdb = 1u << static_cast<unsigned>(Surface::Gdb);
inline constexpr SurfaceSet kOnLldb = 1u << static_cast<unsigned>(Surface::Lldb);
inline constexpr SurfaceSet kOnDebuggers = kOnGdb | kOnLldb;
inline constexpr SurfaceSet kEverywhere = kOnCli | kOnDebuggers;

using FormatSet = unsigned;
constexpr FormatSet format_bit(OutputFormat format) { return 1u << static_cast<unsigned>(format); }
inline constexpr FormatSet kAllFormats =
    format_bit(OutputFormat::Tree) | format_bit(OutputFormat::Flat) | format_bit(OutputFormat::Json);

// What an option given with a format it does not affect does.
enum class OutsideFormats {
    Ignored,  // accepted, and changes nothing (--ascii with json)
    Refused,  // a usage error (--native with flat)
};

// One option. A flag sets `flag`; a value option (`value` non-empty) hands its value to
// `set_value`; an alias (`alias_of`) is short for another option with `alias_value`.
struct OptionSpec {
    std::string_view name;           // without dashes: "show-hidden"
    std::string_view value = {};     // a value option's value as help shows it: its choices, "tree|flat|json", or a
                                     // placeholder in capitals ("ADDR") for a free value; "" for a flag or an alias
    std::string_view help = {};      // one line, without the formats it affects (help adds them); "" for an alias
    SurfaceSet surfaces;             // where it exists
    FormatSet formats;               // the formats it affects
    OutsideFormats outside;          // given with any other format
    std::string_view alias_of = {};  // `json` is short for `format json`
    std::string_view alias_value = {};
    bool OutputOptions::*flag = nullptr;
    // Sets the value; an error ("expected tree, flat or json"), or "" when it was set.
    std::string (*set_value)(OutputOptions& options, std::string_view value) = nullptr;
};

// Every option, in the order help lists them.
std::span<const OptionSpec> output_options();
// The option of that name (without dashes) on that surface; nullptr when there is none.
const OptionSpec* find_option(Surface surface, std::string_view name);

// One option as given: its name without dashes and, for a value option, its value.
struct GivenOption {
    std::string name;
    std::string value;
};

// Applies the options given (in order) onto `options` and checks their combination: an
// unknown name, a bad value, two different values of one option (`--flat --json`, two
// formats), and an option refused outside the formats it affects (`--native --json`) are
// errors. Returns the error (one line, naming the options as typed there), or "".
std::string apply_options(Surface surface, std::span<const GivenOption> given, OutputOptions& options);

struct ParsedOptions {
    OutputOptions options;
    std::vector<std::string> positional;  // the words that are not options (thread numbers), in order
    std::string error;                    // one line; "" when the words are fine
};

// A debugger command's words: options (`-format json`, `-format=json`, `-json`; two dashes
// on lldb) and positional words, which the front-end checks itself.
ParsedOptions parse_options(Surface surface, std::span<const std::string> words);

// `[--format tree|flat|json | --flat | --json] [--ascii] [--show-hidden]`: the options of
// a surface for a usage line, an option and its aliases as alternatives.
std::string options_usage(Surface surface);
// An option's one-line help with the formats it affects, as the CLI's --help shows it (an
// alias: `short for --format json`).
std::string option_description(Surface surface, const OptionSpec& option);
// `  --ascii  Draw the tree ...` per option of the surface, wrapped to `width` columns.
std::string options_help(Surface surface, size_t width = 79);
// The words that may complete `partial` after `words` (gdb's completion): the value choices
// after an option that takes one, else the options not given yet.
std::vector<std::string> option_completions(Surface surface, std::span<const std::string> words,
                                            std::string_view partial);

}  // namespace stackscope
