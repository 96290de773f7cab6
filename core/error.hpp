#pragma once
// The one exception type of the core. Its kind maps onto the CLI's exit codes.
#include <stdexcept>
#include <string>

namespace stackscope {

enum class ErrorKind {
    Partial = 1,          // some thread or object could not be read
    Usage = 2,
    NotPython = 3,        // not a Python process, or an unsupported version
    PermissionDenied = 4,
    InvalidInput = 5,     // unreadable or invalid input file
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

// A remote read or decode that failed: the data behind a pointer was garbage or absent.
// Callers catch it per thread or per object and report it in the model.
inline Error bad_data(const std::string& message) { return Error(ErrorKind::Partial, message); }

}  // namespace stackscope
