#pragma once
// Separate debug files found by build id under /usr/lib/debug/.build-id, where libdwfl's own
// search looks first, with their compressed sections inflated (inflated_debug_file): ahead, on
// other threads, for the files every stack needs, else when libdwfl asks for one.
#include <cstdint>
#include <future>
#include <map>
#include <optional>
#include <span>
#include <string>

namespace stackscope {

std::string build_id_debug_path(std::span<const uint8_t> build_id);

class InflatedDebugFiles {
public:
    InflatedDebugFiles() = default;
    InflatedDebugFiles(const InflatedDebugFiles&) = delete;
    InflatedDebugFiles& operator=(const InflatedDebugFiles&) = delete;
    ~InflatedDebugFiles();

    // Starts inflating the debug file of `build_id` on another thread.
    void inflate_ahead(std::span<const uint8_t> build_id);

    // The inflated debug file of `build_id` (the caller owns the descriptor); nullopt when there
    // is none under /usr/lib/debug, or it has nothing compressed (libdwfl then finds it itself).
    std::optional<int> take(std::span<const uint8_t> build_id);

private:
    std::map<std::string, std::future<std::optional<int>>> ahead_;  // by debug file path
};

}  // namespace stackscope
