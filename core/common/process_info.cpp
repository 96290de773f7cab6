#include "stackscope/process_info.hpp"

#include <csignal>
#include <cstring>

namespace stackscope {

namespace {

// si_code values that do not depend on the signal (asm-generic/siginfo.h).
constexpr int kSiUser = 0, kSiKernel = 0x80, kSiQueue = -1, kSiTkill = -6;

// What a fault's si_code says, per signal (asm-generic/siginfo.h).
struct FaultCause {
    int signal;
    int code;
    const char* text;
};
constexpr FaultCause kFaultCauses[] = {
    {SIGSEGV, SEGV_MAPERR, "address not mapped"},
    {SIGSEGV, SEGV_ACCERR, "invalid permissions for mapped object"},
    {SIGBUS, BUS_ADRALN, "invalid address alignment"},
    {SIGBUS, BUS_ADRERR, "nonexistent physical address"},
    {SIGBUS, BUS_OBJERR, "object-specific hardware error"},
    {SIGILL, ILL_ILLOPC, "illegal opcode"},
    {SIGILL, ILL_PRVOPC, "privileged opcode"},
    {SIGFPE, FPE_INTDIV, "integer divide by zero"},
    {SIGFPE, FPE_INTOVF, "integer overflow"},
    {SIGFPE, FPE_FLTDIV, "floating-point divide by zero"},
};

std::string fault_cause(int number, int code) {
    for (const FaultCause& cause : kFaultCauses) {
        if (cause.signal == number && cause.code == code) return cause.text;
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
