// The lines that head a core's output: what the process was and what killed it.
#include "stackscope/formatters.hpp"
#include "stackscope/hex.hpp"
#include "render/printable.hpp"

namespace stackscope {

std::string format_signal(const FatalSignal& signal) {
    std::string out = signal_name(signal.number);
    if (signal.address) out += " at " + hex(*signal.address);
    return out;
}

std::string format_process_header(const Snapshot& snapshot) {
    if (!snapshot.process) return {};
    const ProcessInfo& p = *snapshot.process;
    std::string out = "Process " + std::to_string(p.pid);
    if (!p.command_line.empty()) out += ": " + printable(p.command_line);
    out += "\n";
    if (p.fatal_signal) {
        const FatalSignal& s = *p.fatal_signal;
        const std::string cause = signal_cause(s);
        out += "Killed by " + format_signal(s) + (cause.empty() ? "" : " (" + cause + ")") + " in thread " +
               std::to_string(s.tid);
        bool python_thread = false;
        for (const Thread& t : snapshot.threads) python_thread |= t.crash.has_value();
        out += python_thread ? "\n" : ", which runs no Python code\n";
    }
    return out + "\n";
}

}  // namespace stackscope
