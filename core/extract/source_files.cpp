#include "stackscope/source_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace stackscope {

namespace {

constexpr size_t kMaxSourceSize = 16 << 20;

std::string strip(const std::string& s) {
    const char* space = " \t\r\n\f\v";
    const size_t begin = s.find_first_not_of(space);
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

// Reads a whole regular file from `fd`, at most kMaxSourceSize bytes; nullopt otherwise.
std::optional<std::string> read_regular_file(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        static_cast<size_t>(st.st_size) > kMaxSourceSize) {
        return std::nullopt;
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    text.resize(done);
    return text;
}

}  // namespace

std::optional<std::vector<std::string>> SourceFiles::read_lines(const std::string& filename) const {
    if (filename.empty() || filename[0] != '/') return std::nullopt;
    const int fd = open_in_root(filename);
    if (fd < 0) return std::nullopt;
    const std::optional<std::string> text = read_regular_file(fd);
    ::close(fd);
    if (!text) return std::nullopt;
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text->size()) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos) end = text->size();
        lines.push_back(text->substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

SourceFiles::SourceFiles(std::string root) {
    root_fd_ = ::open(root.empty() ? "/" : root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

SourceFiles::~SourceFiles() {
    if (root_fd_ >= 0) ::close(root_fd_);
}

int SourceFiles::open_in_root(const std::string& filename) const {
    if (root_fd_ < 0) return -1;
    // Resolve the target's path as if root_fd_ were "/": no "..", symlink or magic link
    // leads out of it. O_NONBLOCK: a FIFO planted under a source file name cannot hang us.
    open_how how{};
    how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, root_fd_, filename.c_str(), &how, sizeof how);
    return fd < 0 ? -1 : static_cast<int>(fd);
}

const std::vector<std::string>* SourceFiles::lines_of(const std::string& filename) {
    const auto lines_in = [](const Files::value_type& file) { return file.second ? &*file.second : nullptr; };
    // Frames come from a few files in turn (ten thousand tasks, each in one module and in
    // asyncio): the files asked last are compared before any path is hashed.
    for (size_t i = 0; i < recent_.size() && recent_[i]; ++i) {
        if (recent_[i]->first != filename) continue;
        std::rotate(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(i),
                    recent_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        return lines_in(*recent_[0]);
    }
    auto it = files_.find(filename);
    if (it == files_.end()) it = files_.emplace(filename, read_lines(filename)).first;
    std::rotate(recent_.begin(), recent_.end() - 1, recent_.end());
    recent_[0] = &*it;
    return lines_in(*it);
}

std::optional<std::string> SourceFiles::line(const std::string& filename, int line_number) {
    const auto* lines = lines_of(filename);
    if (!lines || line_number <= 0 || static_cast<size_t>(line_number) > lines->size()) return std::nullopt;
    std::string text = strip((*lines)[static_cast<size_t>(line_number) - 1]);
    if (text.empty()) return std::nullopt;
    return text;
}

namespace {

constexpr int kMaxWithHeaderLines = 50;

bool starts_with_statement(const std::string& text) {
    for (const char* start : {"with ", "with(", "with\\", "async with ", "async with(", "async with\\"})
        if (text.rfind(start, 0) == 0) return true;
    return false;
}

// A line that the statement goes on after: it ends in `(`, `,` or `\` (before any comment).
bool continues(std::string text) {
    if (const size_t comment = text.find(" #"); comment != std::string::npos) text.resize(comment);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    return !text.empty() && (text.back() == '(' || text.back() == ',' || text.back() == '\\');
}

// The line of the `with` statement a with-item at `item_line` belongs to: the item's own line
// when it starts the statement, else the nearest line above that does, through lines that
// continue the statement's header (comments and blank lines included).
std::optional<int> with_statement_line(SourceFiles& sources, const std::string& filename, int item_line) {
    const auto item = sources.line(filename, item_line);
    if (!item || starts_with_statement(*item)) return item_line;
    for (int line = item_line - 1; line >= 1 && line >= item_line - kMaxWithHeaderLines; --line) {
        const auto text = sources.line(filename, line);
        if (!text || text->front() == '#') continue;
        if (!continues(*text)) return std::nullopt;
        if (starts_with_statement(*text)) return line;
    }
    return std::nullopt;
}

// Deeper than any elaboration nests (the model is a tree, bounded where it is made).
constexpr int kMaxNesting = 256;

void add_stack_lines(Stack& stack, SourceFiles& sources, int depth);

// A context's lines, and those of the stacks and children inside it. A child (an ExitStack's
// callback) has its parent's line but no source: it reads as its description, as upstream's.
void add_context_lines(Context& c, const std::string& filename, SourceFiles& sources, bool child, int depth) {
    if (c.start_line && c.line_of_item) {
        if (const auto line = with_statement_line(sources, filename, *c.start_line)) {
            c.start_line = line;
            c.line_of_item = false;
        }
    }
    if (c.start_line && !child) c.source = sources.line(filename, *c.start_line);
    if (depth > kMaxNesting) return;
    if (c.inner_stack) add_stack_lines(**c.inner_stack, sources, depth + 1);
    for (ContextChild& item : c.children) {
        if (auto* context = std::get_if<Boxed<Context>>(&item))
            add_context_lines(**context, filename, sources, true, depth + 1);
        else add_stack_lines(*std::get<Boxed<Stack>>(item), sources, depth + 1);
    }
}

void add_frames_lines(std::span<Frame> frames, SourceFiles& sources, int depth) {
    for (Frame& f : frames) {
        if (f.line) f.source = sources.line(f.filename, *f.line);
        for (Context& c : f.contexts) add_context_lines(c, f.filename, sources, false, depth);
    }
}

void add_stack_lines(Stack& stack, SourceFiles& sources, int depth) { add_frames_lines(stack.frames, sources, depth); }

}  // namespace

void add_source_lines(Stack& stack, SourceFiles& sources) { add_stack_lines(stack, sources, 0); }

void add_source_lines(std::span<Frame> frames, SourceFiles& sources) { add_frames_lines(frames, sources, 0); }

void add_source_lines(Snapshot& snapshot, SourceFiles& sources) {
    for (Thread& t : snapshot.threads) add_source_lines(t.stack, sources);
    for (ObjectStack& o : snapshot.objects) add_source_lines(o.stack, sources);
    for (Task& t : snapshot.tasks) add_source_lines(t.stack, sources);
    add_lock_source_lines(snapshot, sources);
}

void add_lock_source_lines(Snapshot& snapshot, SourceFiles& sources) {
    auto site_line = [&](LockSite& site) {
        if (!site.filename.empty() && site.line) site.source = sources.line(site.filename, *site.line);
    };
    for (LockState& l : snapshot.locks) {
        for (LockSite& h : l.holders) site_line(h);
        for (LockSite& w : l.waiters) site_line(w);
    }
    for (auto& cycle : snapshot.deadlocks) {
        for (DeadlockMember& m : cycle) {
            site_line(m.holds_at);
            site_line(m.waits_at);
        }
    }
    for (LockSite& w : snapshot.unidentified_waits) site_line(w);
}

}  // namespace stackscope
