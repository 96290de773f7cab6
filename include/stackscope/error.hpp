#pragma once
// The one exception type of the core. Its kind says what happened; how a front-end reports
// it (the CLI's exit codes, the gdb module's exception classes) is the front-end's business.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace stackscope {

enum class ErrorKind {
    UnreadableMemory,    // target memory at an address could not be read
    InconsistentData,    // memory was read, but what it holds makes no sense (a loop, a wrong type, a bad size)
    UnsupportedRuntime,  // not a Python process, or a Python this build cannot read
    PermissionDenied,    // the target may not be read (or is already traced)
    NoSuchTarget,        // no such process, or no such file
    BadInput,            // the input is not what it claims: not a core, truncated, another build's file
    Usage,               // the caller asked for something impossible (an invalid pid, a missing callback)
    Internal,            // a bug in this library
};

// A stable lower-case name for each kind ("unreadable_memory"), as JSON and the gdb module show it.
std::string_view error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, std::optional<uint64_t> address = std::nullopt)
        : std::runtime_error(message), kind_(kind), address_(address) {}
    ErrorKind kind() const noexcept { return kind_; }
    // The target address the error is about, when there is one.
    std::optional<uint64_t> address() const noexcept { return address_; }

private:
    ErrorKind kind_;
    std::optional<uint64_t> address_;
};

// Data read from the target that makes no sense. Callers catch it per thread or per object
// and report it in the model.
inline Error bad_data(const std::string& message, std::optional<uint64_t> address = std::nullopt) {
    return Error(ErrorKind::InconsistentData, message, address);
}

// Target memory that could not be read at `address`.
inline Error unreadable(uint64_t address, const std::string& message) {
    return Error(ErrorKind::UnreadableMemory, message, address);
}

}  // namespace stackscope
