#!/usr/bin/env python3
"""Writes OUTDIR/opcodes_3_X.cpp, the opcode data of the CPython running this script, taken
from its own `opcode` and `dis` modules (core/cpython/versions/opcode_data.hpp says what it holds):

  * base opcodes: name, number and inline cache units (CACHE, EXTENDED_ARG, the
    stand-ins INSTRUMENTED_LINE, INSTRUMENTED_INSTRUCTION and ENTER_EXECUTOR included);
  * folded opcodes: each specialised form (3.11+) and each INSTRUMENTED_X (3.12+) whose X
    exists, with the base it stands for; they share their base's cache count;
  * whether jump arguments count code units (3.10+) and BINARY_OP's oparg for `a[b]` (3.14+).

Usage: python3.X scripts/gen-opcode-tables.py OUTDIR
       (scripts/gen-opcode-tables.sh runs it with every interpreter and formats the output)
       python3.X scripts/gen-opcode-tables.py --json     the same data as JSON on stdout

This file must stay valid Python 3.8 syntax.
"""
import dis
import json
import opcode
import os
import sys

# Stand-ins whose original opcode lives outside the bytecode: kept as base opcodes of their own.
STAND_INS = ("INSTRUMENTED_LINE", "INSTRUMENTED_INSTRUCTION", "ENTER_EXECUTOR")


def fail(message):
    sys.exit("gen-opcode-tables: %s: %s" % (version_string(), message))


def version_string():
    return "%d.%d.%d" % sys.version_info[:3]


def base_opcodes():
    """{name: number} of the real (not pseudo, not specialised) opcodes."""
    specialised = set(specialised_opmap())
    found = {}
    for name, number in opcode.opmap.items():
        if number < 256 and name not in specialised:
            found[name] = number
    return found


def specialised_opmap():
    """{name: number} of the specialised forms (3.11+)."""
    if hasattr(opcode, "_specialized_opmap"):  # 3.13+
        return dict(opcode._specialized_opmap)
    names = getattr(opcode, "_specialized_instructions", None)
    if not names:
        return {}
    # 3.11 and 3.12 number them in dis, filling the free slots of opname in order.
    return {name: dis._all_opmap[name] for name in names}


def cache_counts(bases):
    """{base name: inline cache units}."""
    entries = getattr(opcode, "_inline_cache_entries", None)
    if entries is None:
        return {}
    if hasattr(entries, "items"):  # 3.13+: a dict (3.15: frozendict) by name
        counts = dict(entries.items())
        unknown = set(counts) - set(bases)
        if unknown:
            fail("_inline_cache_entries names opcodes that are not base opcodes: %s" % sorted(unknown))
        return {name: n for name, n in counts.items() if n}
    # 3.11, 3.12: a list by opcode number
    return {name: entries[number] for name, number in bases.items() if number < len(entries) and entries[number]}


def collect():
    bases = base_opcodes()
    specialised = specialised_opmap()
    folded = {}  # name -> (number, base name)
    families = getattr(opcode, "_specializations", {}) or {}
    for base, family in families.items():
        if base not in bases:
            fail("specialisation family of unknown opcode %s" % base)
        for name in family:
            if name not in specialised:
                fail("%s (family %s) has no number" % (name, base))
            folded[name] = (specialised[name], base)
    orphans = set(specialised) - set(folded)
    if orphans:
        fail("specialised opcodes outside every family: %s" % sorted(orphans))
    for name, number in list(bases.items()):
        if name.startswith("INSTRUMENTED_") and name not in STAND_INS:
            original = name[len("INSTRUMENTED_"):]
            if original in bases:
                folded[name] = (number, original)
                del bases[name]
            else:
                print("gen-opcode-tables: %s: %s has no %s, kept as a base opcode" % (version_string(), name, original),
                      file=sys.stderr)
    numbers = {}
    for name, number in list(bases.items()) + [(n, v[0]) for n, v in folded.items()]:
        if number in numbers:
            fail("opcode %d is both %s and %s" % (number, numbers[number], name))
        numbers[number] = name
    caches = cache_counts(bases)
    nb_subscr = -1
    for index, entry in enumerate(getattr(opcode, "_nb_ops", ()) or ()):
        if entry[0] == "NB_SUBSCR":
            nb_subscr = index
    return {
        "version": version_string(),
        "base": sorted(([number, name, caches.get(name, 0), jump_kind(number)] for name, number in bases.items())),
        "folded": sorted(([number, name, bases[base]] for name, (number, base) in folded.items())),
        # bpo-27129: from 3.10 jump arguments count code units instead of bytes.
        "jumps_in_units": sys.version_info >= (3, 10),
        "binary_op_subscr": nb_subscr,
    }


def jump_kind(number):
    """How the control-flow walk of 3.8-3.10 follows the instruction: dis's own lists."""
    if number in getattr(dis, "hasjrel", ()):
        return "JumpKind::Relative"
    if number in getattr(dis, "hasjabs", ()):
        return "JumpKind::Absolute"
    return "JumpKind::None"


def emit_cpp(data):
    minor = sys.version_info[1]
    out = []
    out.append("// Generated by scripts/gen-opcode-tables.py from CPython %s's own opcode and dis modules;" %
               data["version"])
    out.append("// do not edit: regenerate with scripts/gen-opcode-tables.sh.")
    out.append('#include "cpython/versions/opcode_data.hpp"')
    out.append("")
    out.append("namespace stackscope {")
    out.append("")
    out.append("const OpcodeData& opcode_data_3_%d() {" % minor)
    out.append("    // number, name, inline cache units, jump")
    out.append("    static constexpr BaseOpcode base[] = {")
    for number, name, caches, jump in data["base"]:
        out.append('        {%d, "%s", %d, %s},' % (number, name, caches, jump))
    out.append("    };")
    if data["folded"]:
        out.append("    // number, name, base number")
        out.append("    static constexpr FoldedOpcode folded[] = {")
        for number, name, base in data["folded"]:
            out.append('        {%d, "%s", %d},' % (number, name, base))
        out.append("    };")
        folded = "folded"
    else:
        folded = "{}"
    out.append('    static const OpcodeData data{"%s", base, %s, %s, %d};' %
               (data["version"], folded, "true" if data["jumps_in_units"] else "false", data["binary_op_subscr"]))
    out.append("    return data;")
    out.append("}")
    out.append("")
    out.append("}  // namespace stackscope")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    data = collect()
    if argv[1] == "--json":
        json.dump(data, sys.stdout, indent=1)
        print()
        return
    path = os.path.join(argv[1], "opcodes_3_%d.cpp" % sys.version_info[1])
    with open(path, "w") as f:
        f.write(emit_cpp(data))
    print(path)


if __name__ == "__main__":
    main(sys.argv)
