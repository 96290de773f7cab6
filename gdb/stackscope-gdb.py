"""stackscope for gdb.  In gdb:  source /path/to/stackscope-gdb.py  (or put that line in ~/.gdbinit)

Adds `py-stackscope` and Python frames in `bt`; see `help py-stackscope`.  The glue
(stackscope_gdb.py) and the core (stackscope_core, built for gdb's Python) are beside
this file; they are imported as modules, so sourcing this file again changes nothing."""
import os as _os
import sys as _sys

import gdb as _gdb

# gdb does not always set __file__ for a sourced script; the code object knows its file.
_here = _os.path.dirname(_os.path.abspath(_sys._getframe(0).f_code.co_filename))
if _here not in _sys.path:
    _sys.path.insert(0, _here)
try:
    import stackscope_gdb
except ImportError as _error:
    raise _gdb.GdbError("stackscope: cannot load the stackscope modules from %s into gdb's Python %d.%d: %s"
                        % (_here, _sys.version_info[0], _sys.version_info[1], _error))
stackscope_gdb.register()  # the commands, the parameter and the frame filter (once)
