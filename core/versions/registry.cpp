#include <cstdio>

#include "version_tables.hpp"

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

std::optional<PythonLayout> layout_for(int major, int minor) {
    if (major != 3) return std::nullopt;
    PythonLayout layout;
    switch (minor) {
        case 8: layout = python_3_8_layout(); break;
        case 9: layout = python_3_9_layout(); break;
        case 10: layout = python_3_10_layout(); break;
        case 11: layout = python_3_11_layout(); break;
        case 12: layout = python_3_12_layout(); break;
        case 13: layout = python_3_13_layout(); break;
        case 14: layout = python_3_14_layout(); break;
        case 15: layout = python_3_15_layout(); break;
        default: return std::nullopt;
    }
    layout.version.major = major;
    layout.version.minor = minor;
    return layout;
}

}  // namespace stackscope
