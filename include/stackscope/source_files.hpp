#pragma once
// Source lines of the target's files, read from this machine: for live processes through
// the target's root directory (never escaping it), for cores from this machine's files.
// Each file is read at most once per extraction. Meant to run after a live target has
// been resumed: the file names come from the target and reading them may be slow.
#include <optional>
#include <span>
#include <string>
#include <array>
#include <unordered_map>
#include <vector>

#include "stackscope/model.hpp"

namespace stackscope {

class SourceFiles {
public:
    // `root` is the directory the target's absolute paths are relative to ("" for "/").
    explicit SourceFiles(std::string root);
    ~SourceFiles();
    SourceFiles(const SourceFiles&) = delete;
    SourceFiles& operator=(const SourceFiles&) = delete;

    // The line, stripped of surrounding white space; nullopt when unreadable.
    std::optional<std::string> line(const std::string& filename, int line_number);

private:
    const std::vector<std::string>* lines_of(const std::string& filename);
    std::optional<std::vector<std::string>> read_lines(const std::string& filename) const;
    int open_in_root(const std::string& filename) const;

    int root_fd_ = -1;
    using Files = std::unordered_map<std::string, std::optional<std::vector<std::string>>>;
    Files files_;
    // The files asked last, newest first (an element's address outlives a rehash).
    std::array<Files::value_type*, 4> recent_{};
};

// Fills in Frame::source for every frame that has a line (and Context::source, LockSite::source).
void add_source_lines(Stack& stack, SourceFiles& sources);
void add_source_lines(std::span<Frame> frames, SourceFiles& sources);  // and the stacks their contexts hold
void add_source_lines(Snapshot& snapshot, SourceFiles& sources);
// Those of the snapshot's lock sites only (locks, deadlocks, unidentified waits).
void add_lock_source_lines(Snapshot& snapshot, SourceFiles& sources);

}  // namespace stackscope
