#include "callback_target.hpp"

#include <unistd.h>

#include "error.hpp"

namespace stackscope {

CallbackTarget::CallbackTarget(TargetCallbacks callbacks) : callbacks_(std::move(callbacks)) {
    if (!callbacks_.read) throw Error(ErrorKind::Usage, "a callback target needs a read callback");
    if (callbacks_.regions) regions_ = callbacks_.regions();
}

size_t CallbackTarget::read(uint64_t address, std::span<uint8_t> out) {
    const size_t got = callbacks_.read(address, out);
    return got > out.size() ? out.size() : got;
}

std::vector<TargetThread> CallbackTarget::threads() const {
    return callbacks_.threads ? callbacks_.threads() : std::vector<TargetThread>{};
}

std::optional<std::string> CallbackTarget::local_file(const std::string& mapped_path) const {
    if (callbacks_.local_file) return callbacks_.local_file(mapped_path);
    if (!mapped_path.empty() && mapped_path[0] == '/' && ::access(mapped_path.c_str(), R_OK) == 0) return mapped_path;
    return std::nullopt;
}

std::optional<uint64_t> CallbackTarget::lookup_symbol(std::string_view name) const {
    return callbacks_.lookup_symbol ? callbacks_.lookup_symbol(name) : std::nullopt;
}

}  // namespace stackscope
