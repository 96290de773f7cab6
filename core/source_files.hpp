#pragma once
// Source lines of the target's files, read from this machine (through the target's
// root directory for live processes). Each file is read at most once per extraction.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace stackscope {

class SourceFiles {
public:
    explicit SourceFiles(std::string root) : root_(std::move(root)) {}

    // The line, stripped of surrounding white space; nullopt when unreadable.
    std::optional<std::string> line(const std::string& filename, int line_number);

private:
    const std::vector<std::string>* lines_of(const std::string& filename);

    std::string root_;
    std::unordered_map<std::string, std::optional<std::vector<std::string>>> files_;
};

}  // namespace stackscope
