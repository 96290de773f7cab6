#pragma once
// Reads one Python frame (an _PyInterpreterFrame, or a PyFrameObject before 3.11): the step
// every chain walk shares, whether the chain is a thread's stack, a generator's, or a task's.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stackscope/model.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/read_cache.hpp"

namespace stackscope {

class FrameReader {
public:
    static constexpr size_t kMaxLineTable = 1 << 20;
    // The line tables one extraction keeps, in all: many code objects can name one huge table.
    static constexpr size_t kMaxLineTableBytes = 64 << 20;
    // Line-table bytes scanned to find a line not found before, in all: each search scans its
    // table from the start, and frames of one code object can stop at as many instructions.
    static constexpr size_t kMaxLineScanBytes = 256 << 20;
    // Characters of a code object's name and qualname, and of its file name, at most (longer
    // ones end in "...").
    static constexpr size_t kMaxCodeName = 1024;
    static constexpr size_t kMaxFilename = 4096;
    // The names and file names the frames read carry, in all: each frame has its own copies,
    // and any number of frames can run one code object.
    static constexpr size_t kMaxFrameTextBytes = size_t{1} << 30;

    explicit FrameReader(ObjectReader& objects)
        : objects_(objects), mem_(objects.memory()), l_(objects.layout()), modules_(objects.memory()) {}

    // The frame's code reference with its tag bits cleared (0 when it has none).
    uint64_t code_of(uint64_t frame);
    // The next older frame of the chain the frame is on (0 at its end).
    uint64_t previous(uint64_t frame) { return mem_.read_pointer(frame + l_.frame_previous); }
    // A C-stack shim frame (3.12+), which stands for the C call that entered the frame newer than it.
    bool is_shim(uint64_t frame);

    // Appends the frame to `out` as the model shows it; false, appending nothing, when its
    // executable is not a code object (not a Python frame). Throws Error when the frame cannot
    // be read (appending nothing).
    bool read(uint64_t frame, std::vector<Frame>& out);

    // Where a code object's function is defined: co_filename and co_firstlineno. Throws Error
    // when `code` is no readable code object.
    struct Definition {
        std::string filename;
        int first_line = 0;
    };
    Definition definition_of(uint64_t code);

    // Where the frame is: its co_filename and current line (nullopt when unknown), as read()
    // reads them without the rest. Throws Error when the frame runs no readable code object.
    struct Location {
        const std::string& filename;
        std::optional<int> line;
    };
    Location location(uint64_t frame);

    // A code object's first line and line table as its frames' lines are read from them (kept
    // for the extraction); `table` is null when it was past kMaxLineTableBytes. Throws Error
    // when the code object cannot be read.
    struct LineTable {
        int first_line = 0;
        const std::vector<uint8_t>* table = nullptr;
    };
    LineTable line_table(uint64_t code);

    // The frame's current instruction as a code unit of its code: -1 before the first
    // instruction, nullopt for garbage.
    std::optional<int64_t> code_unit_of(uint64_t frame, uint64_t code);

private:
    struct FirstArgument {
        bool is_class = false;          // named cls rather than self
        std::optional<int> cell_index;  // f_localsplus slot of its cell, when captured
    };

    struct CodeInfo {
        std::optional<FirstArgument> first_argument;
        std::string name;
        std::string qualname;
        std::string filename;
        int first_line = 0;
        bool coroutine = false;  // CO_COROUTINE, CO_ITERABLE_COROUTINE or CO_ASYNC_GENERATOR
        std::vector<uint8_t> line_table;
        bool lines_unknown = false;  // its table was past kMaxLineTableBytes
        // Lines found so far, by code unit: many frames stop at the same few instructions.
        std::unordered_map<int64_t, std::optional<int>> lines;
    };

    CodeInfo& code_info(uint64_t code);
    const std::optional<std::string>& module_of(uint64_t globals);
    std::optional<FirstArgument> first_argument(uint64_t code);
    std::optional<std::string> class_of_first_argument(uint64_t frame, const CodeInfo& info);
    std::optional<int> line_at(const CodeInfo& info, int64_t code_unit);
    std::optional<int> cached_line_at(CodeInfo& info, int64_t code_unit);

    ObjectReader& objects_;
    RemoteMemory& mem_;
    const PythonLayout& l_;
    // Code objects are immutable: described once per extraction.
    std::unordered_map<uint64_t, CodeInfo> codes_;
    size_t line_table_bytes_ = 0;  // of their line tables
    size_t line_scan_bytes_ = 0;   // scanned by cached_line_at()
    size_t frame_text_bytes_ = 0;  // handed to frames by read()
    // A module's name comes from its globals dict, which is mutable: per read.
    PerReadCache<uint64_t, std::optional<std::string>> modules_;
};

}  // namespace stackscope
