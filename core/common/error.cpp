#include "stackscope/error.hpp"

namespace stackscope {

std::string_view error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::UnreadableMemory: return "unreadable_memory";
        case ErrorKind::InconsistentData: return "inconsistent_data";
        case ErrorKind::UnsupportedRuntime: return "unsupported_runtime";
        case ErrorKind::PermissionDenied: return "permission_denied";
        case ErrorKind::NoSuchTarget: return "no_such_target";
        case ErrorKind::BadInput: return "bad_input";
        case ErrorKind::Usage: return "usage";
        case ErrorKind::Internal: return "internal";
    }
    return "internal";
}

}  // namespace stackscope
