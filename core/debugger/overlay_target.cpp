#include "stackscope/debugger/overlay_target.hpp"

namespace stackscope {

OverlayTarget::OverlayTarget(std::unique_ptr<Target> inner, std::vector<TargetThread> threads, SymbolLookup symbols)
    : inner_(std::move(inner)), threads_(std::move(threads)), symbols_(std::move(symbols)) {}

std::optional<uint64_t> OverlayTarget::lookup_symbol(std::string_view name) const {
    if (auto address = inner_->lookup_symbol(name)) return address;
    return symbols_ ? symbols_(name) : std::nullopt;
}

}  // namespace stackscope
