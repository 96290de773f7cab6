#include <cstdio>

#include "cpython/versions/version_tables.hpp"

namespace stackscope {

PythonVersion PythonVersion::from_hex(uint64_t hexversion) {
    PythonVersion v;
    v.major = static_cast<int>((hexversion >> 24) & 0xff);
    v.minor = static_cast<int>((hexversion >> 16) & 0xff);
    v.micro = static_cast<int>((hexversion >> 8) & 0xff);
    v.release_level = static_cast<int>((hexversion >> 4) & 0xf);
    v.serial = static_cast<int>(hexversion & 0xf);
    return v;
}

std::string PythonVersion::str() const {
    char buf[48];
    if (micro < 0) {
        std::snprintf(buf, sizeof buf, "%d.%d", major, minor);
        return buf;
    }
    const char* level = release_level == 0xa ? "a" : release_level == 0xb ? "b" : release_level == 0xc ? "rc" : "";
    if (*level) std::snprintf(buf, sizeof buf, "%d.%d.%d%s%d", major, minor, micro, level, serial);
    else std::snprintf(buf, sizeof buf, "%d.%d.%d", major, minor, micro);
    return buf;
}

namespace {

struct KnownLayout {
    int minor;  // of 3.X
    PythonLayout (*make)();
};

constexpr KnownLayout kKnownLayouts[] = {
    {8, python_3_8_layout},   {9, python_3_9_layout},   {10, python_3_10_layout}, {11, python_3_11_layout},
    {12, python_3_12_layout}, {13, python_3_13_layout}, {14, python_3_14_layout}, {15, python_3_15_layout},
};

PythonLayout made(const KnownLayout& known) {
    PythonLayout layout = known.make();
    layout.version.major = 3;
    layout.version.minor = known.minor;
    return layout;
}

}  // namespace

std::optional<PythonLayout> layout_for(int major, int minor) {
    if (major != 3) return std::nullopt;
    for (const KnownLayout& known : kKnownLayouts) {
        if (known.minor == minor) return made(known);
    }
    return std::nullopt;
}

std::vector<PythonLayout> all_layouts() {
    std::vector<PythonLayout> out;
    for (const KnownLayout& known : kKnownLayouts) out.push_back(made(known));
    return out;
}

}  // namespace stackscope
