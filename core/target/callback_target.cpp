#include "stackscope/callback_target.hpp"

#include <unistd.h>

#include <algorithm>

#include "stackscope/error.hpp"

namespace stackscope {

namespace {
constexpr uint64_t kPage = 4096;
}

CallbackTarget::CallbackTarget(TargetCallbacks callbacks) : callbacks_(std::move(callbacks)) {
    if (!callbacks_.read) throw Error(ErrorKind::Usage, "a callback target needs a read callback");
    if (callbacks_.regions) regions_ = callbacks_.regions();
}

size_t CallbackTarget::read(uint64_t address, std::span<uint8_t> out) {
    auto read_some = [this](uint64_t at, std::span<uint8_t> part) {
        return std::min(callbacks_.read(at, part), part.size());
    };
    const size_t got = read_some(address, out);
    if (got > 0 || out.size() <= kPage - address % kPage) return got;
    size_t done = 0;
    while (done < out.size()) {
        const uint64_t at = address + done;
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(kPage - at % kPage, out.size() - done));
        const size_t part = read_some(at, out.subspan(done, chunk));
        done += part;
        if (part < chunk) break;
    }
    return done;
}

std::vector<TargetThread> CallbackTarget::threads() const {
    return callbacks_.threads ? callbacks_.threads() : std::vector<TargetThread>{};
}

std::optional<std::string> CallbackTarget::local_file(const std::string& mapped_path) const {
    if (callbacks_.local_file) return callbacks_.local_file(mapped_path);
    if (!mapped_path.empty() && mapped_path[0] == '/' && ::access(mapped_path.c_str(), R_OK) == 0) return mapped_path;
    return std::nullopt;
}

std::optional<ProcessInfo> CallbackTarget::process_info() const {
    return callbacks_.process_info ? callbacks_.process_info() : std::nullopt;
}

std::optional<uint64_t> CallbackTarget::lookup_symbol(std::string_view name) const {
    return callbacks_.lookup_symbol ? callbacks_.lookup_symbol(name) : std::nullopt;
}

}  // namespace stackscope
