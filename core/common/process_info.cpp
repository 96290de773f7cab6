#include "stackscope/process_info.hpp"

#include <csignal>
#include <cstring>

namespace stackscope {

namespace {

// si_code values that do not depend on the signal (asm-generic/siginfo.h).
constexpr int kSiUser = 0, kSiKernel = 0x80, kSiQueue = -1, kSiTkill = -6;

std::string fault_cause(int number, int code) {
    switch (number) {
        case SIGSEGV:
            if (code == SEGV_MAPERR) return "address not mapped";
            if (code == SEGV_ACCERR) return "invalid permissions for mapped object";
            break;
        case SIGBUS:
            if (code == BUS_ADRALN) return "invalid address alignment";
            if (code == BUS_ADRERR) return "nonexistent physical address";
            if (code == BUS_OBJERR) return "object-specific hardware error";
            break;
        case SIGILL:
            if (code == ILL_ILLOPC) return "illegal opcode";
            if (code == ILL_PRVOPC) return "privileged opcode";
            break;
        case SIGFPE:
            if (code == FPE_INTDIV) return "integer divide by zero";
            if (code == FPE_INTOVF) return "integer overflow";
            if (code == FPE_FLTDIV) return "floating-point divide by zero";
            break;
        default:
            break;
    }
    return {};
}

}  // namespace

std::string signal_name(int number) {
    const char* abbrev = number > 0 && number < NSIG ? sigabbrev_np(number) : nullptr;
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(number);
}

std::string signal_cause(const FatalSignal& signal) {
    const std::string from = signal.sender_pid ? " from pid " + std::to_string(*signal.sender_pid) : "";
    switch (signal.code) {
        case kSiUser: return "sent by kill()" + from;
        case kSiTkill: return "sent by tgkill()" + from;
        case kSiQueue: return "sent by sigqueue()" + from;
        case kSiKernel: return "sent by the kernel";
        default: return signal.code > 0 ? fault_cause(signal.number, signal.code) : std::string{};
    }
}

}  // namespace stackscope
