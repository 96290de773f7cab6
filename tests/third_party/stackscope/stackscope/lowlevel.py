from ._lowlevel import *
from ._code_dispatch import *

from . import _util

_util.fixup_module_metadata("stackscope.lowlevel", globals())
