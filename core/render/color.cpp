// When to colour (include/stackscope/options.hpp): the choice of --color, and the CLI's rule
// for `auto`. The environment is passed in, so that the rule is tested without changing it.
#include "stackscope/options.hpp"

namespace stackscope {

std::string_view color_name(ColorChoice choice) {
    constexpr std::string_view kNames[] = {"auto", "always", "never"};  // in ColorChoice's order
    const auto index = static_cast<size_t>(choice);
    return index < std::size(kNames) ? kNames[index] : kNames[0];
}

bool use_color(ColorChoice choice, bool automatic) {
    switch (choice) {
        case ColorChoice::Always: return true;
        case ColorChoice::Never: return false;
        case ColorChoice::Auto: break;
    }
    return automatic;
}

bool terminal_allows_color(bool is_terminal, std::optional<std::string_view> no_color,
                           std::optional<std::string_view> term) {
    if (!is_terminal) return false;
    if (no_color && !no_color->empty()) return false;
    return term && *term != "dumb";
}

}  // namespace stackscope
