#include "render/native_text.hpp"

#include "stackscope/hex.hpp"

namespace stackscope {

std::string native_frame_text(const NativeStackFrame& frame) {
    std::string out = frame.symbol.empty() ? hex(frame.pc) : frame.symbol;
    if (frame.inlined) out += " (inlined)";
    if (frame.filename) {
        out += " at " + *frame.filename;
        if (frame.line) out += ":" + std::to_string(*frame.line);
    }
    if (!frame.library.empty()) out += " in " + frame.library.substr(frame.library.rfind('/') + 1);
    return out;
}

std::vector<NativeLine> native_lines(const Thread& thread, bool all) {
    std::vector<NativeLine> out;
    if (!thread.native) return out;
    for (const NativeStackFrame& f : *thread.native) {
        NativeLine line;
        line.text = native_frame_text(f);
        line.frame = NativeFrame{f.symbol, f.stack_low, f.stack_high};
        line.replaced = !all && f.interpreter;
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace stackscope
