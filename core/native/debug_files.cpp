#include "native/debug_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>
#include <vector>

#include "native/inflated_debug_file.hpp"

namespace stackscope {

namespace {

std::optional<int> inflate(const std::string& path, const std::vector<uint8_t>& build_id) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const std::optional<int> image = inflated_debug_file(fd, build_id);
    ::close(fd);
    return image;
}

}  // namespace

std::string build_id_debug_path(std::span<const uint8_t> build_id) {
    std::string path = "/usr/lib/debug/.build-id/";
    char hex[3];
    for (size_t i = 0; i < build_id.size(); ++i) {
        std::snprintf(hex, sizeof hex, "%02x", build_id[i]);
        path += hex;
        if (i == 0) path += '/';
    }
    return path + ".debug";
}

InflatedDebugFiles::~InflatedDebugFiles() {
    for (auto& [path, image] : ahead_) {
        if (!image.valid()) continue;
        if (const std::optional<int> fd = image.get()) ::close(*fd);
    }
}

void InflatedDebugFiles::inflate_ahead(std::span<const uint8_t> build_id) {
    if (build_id.size() < 2) return;
    std::string path = build_id_debug_path(build_id);
    if (ahead_.count(path)) return;
    try {
        auto image =
            std::async(std::launch::async, inflate, path, std::vector<uint8_t>(build_id.begin(), build_id.end()));
        ahead_.emplace(std::move(path), std::move(image));
    } catch (const std::system_error&) {
        // no thread: inflated when libdwfl asks for it
    }
}

std::optional<int> InflatedDebugFiles::take(std::span<const uint8_t> build_id) {
    if (build_id.size() < 2) return std::nullopt;
    const std::string path = build_id_debug_path(build_id);
    const auto ahead = ahead_.find(path);
    if (ahead != ahead_.end() && ahead->second.valid()) return ahead->second.get();
    return inflate(path, std::vector<uint8_t>(build_id.begin(), build_id.end()));
}

}  // namespace stackscope
