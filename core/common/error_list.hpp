#pragma once
// Readers that carry on past a broken part: each Error (but Error(Internal), a bug) becomes a
// line of the reader's list of problems, prefixed with what was being read.
#include <string>
#include <type_traits>
#include <vector>

#include "stackscope/error.hpp"

namespace stackscope {

// `what` is a string, or a callable that makes it (called only for an error: readers of many
// objects would otherwise format one prefix per object).
template <typename What, typename Read>
void recording_errors(std::vector<std::string>& problems, What&& what, Read&& read) {
    try {
        read();
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        if constexpr (std::is_invocable_v<What>) problems.push_back(what() + ": " + e.what());
        else problems.push_back(std::string(what) + ": " + e.what());
    }
}

// The problems in one line, "; " between them.
inline std::string joined_problems(const std::vector<std::string>& problems) {
    std::string out;
    for (const std::string& p : problems) out += (out.empty() ? "" : "; ") + p;
    return out;
}

}  // namespace stackscope
