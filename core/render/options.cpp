// The output options of every surface (include/stackscope/options.hpp): the table, and the
// parser, combination check, usage, help and completion made from it.
#include "stackscope/options.hpp"

#include <algorithm>
#include <array>

namespace stackscope {

namespace {

constexpr std::array<OutputFormat, 3> kFormats{OutputFormat::Tree, OutputFormat::Flat, OutputFormat::Json};

std::string set_format(OutputOptions& options, std::string_view value) {
    for (OutputFormat format : kFormats) {
        if (format_name(format) == value) {
            options.format = format;
            return {};
        }
    }
    return "expected tree, flat or json";
}

std::string set_color(OutputOptions& options, std::string_view value) {
    for (ColorChoice choice : {ColorChoice::Auto, ColorChoice::Always, ColorChoice::Never}) {
        if (color_name(choice) == value) {
            options.color = choice;
            return {};
        }
    }
    return "expected auto, always or never";
}

// The options, in the order help lists them. Adding one (--tasks, --object ADDR,
// --locks, --native) is one row here, plus the
// field of OutputOptions it sets (which its renderer reads): its name, value, help, the
// surfaces that have it and the formats it affects decide how every surface parses, checks,
// documents and completes it. A flag points at its bool; a value option at a setter that
// parses its value.
// `--flat` and `--json`, everywhere: short for `--format flat|json`.
constexpr OptionSpec format_alias(std::string_view format) {
    return {.name = format,
            .surfaces = kEverywhere,
            .formats = kAllFormats,
            .outside = OutsideFormats::Ignored,
            .alias_of = "format",
            .alias_value = format};
}

constexpr OptionSpec kOptions[] = {
    {.name = "format",
     .value = "tree|flat|json",
     .help = "Output format: tree (upstream stackscope's, the default), flat (like a Python traceback) or json "
             "(docs/schema-v1.json)",
     .surfaces = kEverywhere,
     .formats = kAllFormats,
     .outside = OutsideFormats::Ignored,
     .set_value = set_format},
    format_alias("flat"),
    format_alias("json"),
    {.name = "ascii",
     .help = "Draw the tree with ASCII characters only",
     .surfaces = kEverywhere,
     .formats = format_bit(OutputFormat::Tree),
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::ascii},
    {.name = "color",
     .value = "auto|always|never",
     .help = "Colour the text: auto (the default: on a terminal, unless NO_COLOR is set; in gdb and lldb when "
             "their own output is coloured), always or never",
     .surfaces = kEverywhere,
     .formats = format_bit(OutputFormat::Tree) | format_bit(OutputFormat::Flat),
     .outside = OutsideFormats::Ignored,
     .set_value = set_color},
    {.name = "show-hidden",
     .help = "Show hidden frames: threading's bootstrap frames",
     .surfaces = kEverywhere,
     .formats = format_bit(OutputFormat::Tree) | format_bit(OutputFormat::Flat),
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::show_hidden},
    {.name = "no-contexts",
     .help = "Leave out the frames' active with / async with blocks (the CLI does not even read them)",
     .surfaces = kEverywhere,
     .formats = kAllFormats,
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::no_contexts},
    {.name = "locals",
     .help = "Show each frame's arguments, then its other local variables, one `name = repr` per line (reprs "
             "bounded as reprlib's; unbound variables left out; none for module and class bodies, whose names "
             "live in a dict)",
     .surfaces = kEverywhere,
     .formats = kAllFormats,
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::locals},
    {.name = "tasks",
     .help = "After the threads, every asyncio task of every event loop, as trees: a task awaited by another "
             "(directly, through gather or shield, or as a TaskGroup child) hangs under the awaiting frame",
     .surfaces = kOnCli,
     .formats = kAllFormats,
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::tasks},
    {.name = "locks",
     .help = "After the threads, the deadlocks (cycles of threads each waiting for a lock the next holds), then "
             "every lock a `with` holds or a thread waits for (Lock, RLock, Condition, Semaphore): who holds it and "
             "where, who waits for it and where; a thread blocked on a lock no rule identifies says so",
     .surfaces = kOnCli,
     .formats = kAllFormats,
     .outside = OutsideFormats::Ignored,
     .flag = &OutputOptions::locks},
    {.name = "native",
     .help = "Interleave the debugger's native frames with the Python frames",
     .surfaces = kOnDebuggers,
     .formats = format_bit(OutputFormat::Tree),
     .outside = OutsideFormats::Refused,
     .flag = &OutputOptions::native},
    {.name = "native",
     .help = "Interleave the native (C, C++) frames with the Python frames, the interpreter's own collapsed: each "
             "eval-loop call is replaced by the Python frames it runs. Threads without a Python thread state are "
             "listed too. Unwound with elfutils (CFI, else frame pointers); not with --no-block",
     .surfaces = kOnCli,
     .formats = format_bit(OutputFormat::Tree) | format_bit(OutputFormat::Json),
     .outside = OutsideFormats::Refused,
     .flag = &OutputOptions::native},
    {.name = "native-all",
     .help = "As --native, with every native frame, the interpreter's own included (each eval-loop call followed "
             "by the Python frames it runs)",
     .surfaces = kOnCli,
     .formats = format_bit(OutputFormat::Tree) | format_bit(OutputFormat::Json),
     .outside = OutsideFormats::Refused,
     .flag = &OutputOptions::native_all},
};

bool on(Surface surface, const OptionSpec& option) {
    return (option.surfaces & (1u << static_cast<unsigned>(surface))) != 0;
}

// "tree", "tree and flat", "tree, flat and json".
std::string format_names(FormatSet formats) {
    std::vector<std::string_view> names;
    for (OutputFormat format : kFormats) {
        if (formats & format_bit(format)) names.push_back(format_name(format));
    }
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
        out += names[i];
    }
    return out;
}

std::string spelled(Surface surface, std::string_view name) {
    return std::string(option_dashes(surface)) + std::string(name);
}

std::vector<std::string_view> choices(const OptionSpec& option) {
    std::vector<std::string_view> out;
    if (option.value.find('|') == std::string_view::npos) return out;  // a placeholder (ADDR), not choices
    std::string_view rest = option.value;
    while (!rest.empty()) {
        const size_t bar = rest.find('|');
        out.push_back(rest.substr(0, bar));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    return out;
}

// `text` after `line` (a label padded to `indent` columns), its words laid into lines of at
// most `width` columns (a longer word alone), the later lines indented by `indent`.
std::string wrap(std::string line, std::string_view text, size_t indent, size_t width) {
    std::string out;
    bool fresh = true;  // no word on the line yet
    while (!text.empty()) {
        const size_t space = text.find(' ');
        const std::string_view word = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
        if (!fresh && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line = std::string(indent, ' ');
            fresh = true;
        }
        if (!fresh) line += ' ';
        line += word;
        fresh = false;
    }
    return out + line + "\n";
}

}  // namespace

std::string_view format_name(OutputFormat format) {
    constexpr std::string_view kNames[] = {"tree", "flat", "json"};  // in OutputFormat's order
    const auto index = static_cast<size_t>(format);
    return index < std::size(kNames) ? kNames[index] : kNames[0];
}

std::string_view option_dashes(Surface surface) { return surface == Surface::Gdb ? "-" : "--"; }

std::string_view surface_name(Surface surface) {
    constexpr std::string_view kNames[] = {"the CLI", "gdb", "lldb"};  // in Surface's order
    const auto index = static_cast<size_t>(surface);
    return index < std::size(kNames) ? kNames[index] : kNames[0];
}

std::span<const OptionSpec> output_options() { return kOptions; }

const OptionSpec* find_option(Surface surface, std::string_view name) {
    for (const OptionSpec& option : kOptions) {
        if (option.name == name && on(surface, option)) return &option;
    }
    return nullptr;
}

std::string apply_options(Surface surface, std::span<const GivenOption> given, OutputOptions& options) {
    struct Set {
        const OptionSpec* option;  // the option that holds the value (an alias's target)
        std::string value;
        std::string typed;  // as given: `--json`, `--format json`
    };
    std::vector<Set> values;                                      // the first word that set each value option
    std::vector<std::pair<const OptionSpec*, std::string>> used;  // every option given, as typed
    for (const GivenOption& g : given) {
        const OptionSpec* option = find_option(surface, g.name);
        const std::string typed = spelled(surface, g.name);
        if (!option) return "unknown option '" + typed + "'";
        const OptionSpec* target = option;
        std::string value = g.value;
        std::string as_typed = typed;
        if (!option->alias_of.empty()) {
            if (!g.value.empty()) return typed + " takes no value";
            target = find_option(surface, option->alias_of);
            if (!target) return "unknown option '" + typed + "'";  // an alias of an option this surface lacks
            value = std::string(option->alias_value);
        } else if (option->set_value) {
            if (value.empty()) return typed + " needs a value: " + std::string(option->value);
            as_typed += " " + value;
        } else if (!g.value.empty()) {
            return typed + " takes no value";
        }
        if (target->set_value) {
            OutputOptions set = options;
            if (std::string bad = target->set_value(set, value); !bad.empty()) return as_typed + ": " + bad;
            const auto first =
                std::find_if(values.begin(), values.end(), [&](const Set& s) { return s.option == target; });
            if (first != values.end() && first->value != value)
                return first->typed + " and " + as_typed + " cannot be combined";
            if (first == values.end()) values.push_back({target, value, as_typed});
            options = set;
        } else {
            options.*(target->flag) = true;
        }
        used.emplace_back(option, as_typed);
    }
    const auto format =
        std::find_if(values.begin(), values.end(), [](const Set& s) { return s.option->name == "format"; });
    for (const auto& [option, typed] : used) {
        if (option->outside == OutsideFormats::Refused && !(option->formats & format_bit(options.format))) {
            return typed + " works with " + format_names(option->formats) +
                   " output only: it cannot be combined with " +
                   (format != values.end() ? format->typed
                                           : spelled(surface, "format ") + std::string(format_name(options.format)));
        }
    }
    return {};
}

ParsedOptions parse_options(Surface surface, std::span<const std::string> words) {
    ParsedOptions out;
    const std::string_view dashes = option_dashes(surface);
    std::vector<GivenOption> given;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (word.size() < 2 || word[0] != '-') {
            out.positional.push_back(word);
            continue;
        }
        const size_t leading = word.find_first_not_of('-');
        std::string_view body = std::string_view(word).substr(std::min(leading, word.size()));
        const size_t equals = body.find('=');
        const std::string name(body.substr(0, equals));
        if (leading != dashes.size()) {
            out.error = "unknown option '" + word + "'";
            if (find_option(surface, name)) {
                out.error += " (" + std::string(surface_name(surface)) + "'s options take " +
                             (dashes.size() == 1 ? "one dash: " : "two dashes: ") + spelled(surface, name) + ")";
            }
            return out;
        }
        GivenOption option{name,
                           equals == std::string_view::npos ? std::string() : std::string(body.substr(equals + 1))};
        const OptionSpec* spec = find_option(surface, name);
        if (spec && !spec->value.empty() && equals == std::string_view::npos && i + 1 < words.size() &&
            !(words[i + 1].size() > 1 && words[i + 1][0] == '-')) {
            option.value = words[++i];
        }
        given.push_back(std::move(option));
    }
    out.error = apply_options(surface, given, out.options);
    return out;
}

std::string options_usage(Surface surface) {
    std::string out;
    for (const OptionSpec& option : kOptions) {
        if (!on(surface, option) || !option.alias_of.empty()) continue;
        std::string part =
            spelled(surface, option.name) + (option.value.empty() ? "" : " " + std::string(option.value));
        for (const OptionSpec& alias : kOptions) {
            if (on(surface, alias) && alias.alias_of == option.name) part += " | " + spelled(surface, alias.name);
        }
        out += (out.empty() ? "[" : " [") + part + "]";
    }
    return out;
}

std::string option_description(Surface surface, const OptionSpec& option) {
    if (!option.alias_of.empty()) {
        return "Short for " + spelled(surface, option.alias_of) + " " + std::string(option.alias_value);
    }
    std::string out(option.help);
    if (option.formats != kAllFormats) {
        out += " (" + format_names(option.formats) +
               (option.outside == OutsideFormats::Refused
                    ? " only"
                    : "; ignored by " + format_names(kAllFormats & ~option.formats)) +
               ")";
    }
    return out;
}

std::string options_help(Surface surface, size_t width) {
    std::vector<std::pair<std::string, const OptionSpec*>> rows;
    size_t column = 0;
    for (const OptionSpec& option : kOptions) {
        if (!on(surface, option)) continue;
        rows.emplace_back(
            "  " + spelled(surface, option.name) + (option.value.empty() ? "" : " " + std::string(option.value)),
            &option);
        column = std::max(column, rows.back().first.size() + 2);
    }
    std::string out;
    for (const auto& [label, option] : rows) {
        out +=
            wrap(label + std::string(column - label.size(), ' '), option_description(surface, *option), column, width);
    }
    return out;
}

std::vector<std::string> option_completions(Surface surface, std::span<const std::string> words,
                                            std::string_view partial) {
    std::vector<std::string> out;
    const std::string_view dashes = option_dashes(surface);
    const auto value_option = [&](std::string_view word) -> const OptionSpec* {
        if (!word.starts_with(dashes) || (word.size() > dashes.size() && word[dashes.size()] == '-')) return nullptr;
        const OptionSpec* option = find_option(surface, word.substr(dashes.size()));
        return option && !option->value.empty() ? option : nullptr;
    };
    if (!words.empty()) {
        if (const OptionSpec* option = value_option(words.back())) {
            for (std::string_view choice : choices(*option)) {
                if (choice.starts_with(partial)) out.emplace_back(choice);
            }
            return out;
        }
    }
    if (const size_t equals = partial.find('='); equals != std::string_view::npos) {
        if (const OptionSpec* option = value_option(partial.substr(0, equals))) {
            for (std::string_view choice : choices(*option)) {
                if (choice.starts_with(partial.substr(equals + 1)))
                    out.push_back(std::string(partial.substr(0, equals + 1)) + std::string(choice));
            }
        }
        return out;
    }
    for (const OptionSpec& option : kOptions) {
        const std::string word = spelled(surface, option.name);
        if (on(surface, option) && word.starts_with(partial) &&
            std::find(words.begin(), words.end(), word) == words.end()) {
            out.push_back(word);
        }
    }
    return out;
}

}  // namespace stackscope
