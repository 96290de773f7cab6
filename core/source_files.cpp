#include "source_files.hpp"

#include <sys/stat.h>

#include <fstream>

namespace stackscope {

namespace {
constexpr off_t kMaxSourceSize = 16 << 20;

std::string strip(const std::string& s) {
    const char* space = " \t\r\n\f\v";
    const size_t begin = s.find_first_not_of(space);
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}
}  // namespace

const std::vector<std::string>* SourceFiles::lines_of(const std::string& filename) {
    auto it = files_.find(filename);
    if (it != files_.end()) return it->second ? &*it->second : nullptr;
    std::optional<std::vector<std::string>> lines;
    if (!filename.empty() && filename[0] == '/') {
        const std::string path = root_ + filename;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxSourceSize) {
            std::ifstream in(path);
            if (in) {
                lines.emplace();
                std::string l;
                while (std::getline(in, l)) lines->push_back(std::move(l));
            }
        }
    }
    auto& slot = files_[filename] = std::move(lines);
    return slot ? &*slot : nullptr;
}

std::optional<std::string> SourceFiles::line(const std::string& filename, int line_number) {
    const auto* lines = lines_of(filename);
    if (!lines || line_number <= 0 || static_cast<size_t>(line_number) > lines->size()) return std::nullopt;
    std::string text = strip((*lines)[static_cast<size_t>(line_number) - 1]);
    if (text.empty()) return std::nullopt;
    return text;
}

}  // namespace stackscope
