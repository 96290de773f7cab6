#include "target/proc_syscall.hpp"

#include <charconv>

namespace stackscope {

namespace {

std::string_view next_word(std::string_view& text) {
    const size_t start = text.find_first_not_of(" \n");
    if (start == std::string_view::npos) {
        text = {};
        return {};
    }
    text.remove_prefix(start);
    const size_t end = text.find_first_of(" \n");
    const std::string_view word = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    return word;
}

}  // namespace

std::optional<ProcSyscall> parse_proc_syscall(std::string_view text) {
    std::string_view word = next_word(text);
    if (word == "running") return ProcSyscall{};
    ProcSyscall out;
    const auto number = std::from_chars(word.data(), word.data() + word.size(), out.number);
    if (word.empty() || number.ec != std::errc() || number.ptr != word.data() + word.size() || out.number < -1) {
        return std::nullopt;
    }
    if (out.number == -1) return out;
    word = next_word(text);
    if (word.rfind("0x", 0) != 0) return std::nullopt;
    word.remove_prefix(2);
    const auto arg0 = std::from_chars(word.data(), word.data() + word.size(), out.arg0, 16);
    if (word.empty() || arg0.ec != std::errc() || arg0.ptr != word.data() + word.size()) return std::nullopt;
    return out;
}

}  // namespace stackscope
