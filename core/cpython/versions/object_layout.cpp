// Object layouts shared by every supported version of the default (GIL) build: the
// PyObject header, type, str, bytes, int, dict and module fields that have not moved.
// Measured on 3.8-3.14 (shared/reference/cpython-internals.md section 6).
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

void set_gil_build_object_layout(PythonLayout& l) {
    l.object_type = 8;
    l.var_size = 16;
    l.type_name = 24;
    l.type_basicsize = 32;
    l.type_flags = 168;
    l.type_dictoffset = 288;
    l.type_dict = 264;
    l.type_mro = 344;
    l.wrapper_target = 16;  // ags_gen, agt_gen, cw_coroutine, FutureIter's future
    l.module_dict = 16;
    l.long_digits = 24;
    l.tuple_items = 24;
    l.bytes_size = 16;
    l.bytes_data = 32;
    l.unicode_length = 16;
    l.unicode_state = 32;
    l.dict_keys_ptr = 32;
    l.dict_values_ptr = 40;
    l.dict_used = 16;
    l.exception_args = 24;
    // What a with-block's __exit__ is bound to: PyMethodObject.im_self, PyCFunctionObject.m_self
    // and the method-wrapper's self all follow two pointers after the header.
    l.method_self = 24;
    l.cfunction_self = 24;
    l.method_wrapper_self = 24;
    l.method_func = 16;
    // PyFunctionObject from 3.10 (3.8.18-3.13.0 DWARF; Debian 3.14/3.15 debug builds' DWARF):
    // the 3.8/3.9 tables set their own order.
    l.func_globals = 16;
    l.func_name = 32;
    l.func_qualname = 40;
    l.func_code = 48;
    l.func_closure = 72;
    l.func_module = 104;
    l.func_dict = 88;
    // PyDescrObject: d_type, then d_name after the header (3.8.18-3.13.0 DWARF; Debian 3.13-3.15 -dbg).
    l.descr_name = 24;
    // dequeobject and its blocks: the same in 3.8.18-3.13.0 and Debian 3.13-3.15 -dbg (gdb ptype /o
    // dequeobject, block); 3.11 added free blocks after maxlen, which are not read.
    l.deque_left_block = 24;
    l.deque_right_block = 32;
    l.deque_left_index = 40;
    l.deque_right_index = 48;
    l.deque_block_items = 8;
    l.deque_block_right_link = 520;
    l.deque_block_length = 64;
    l.cell_ref = 16;  // PyCellObject.ob_ref (3.8.18-3.13.0 DWARF; Debian 3.14/3.15 -dbg)
    l.list_items = 24;
    // FutureObj_HEAD's first fields and functools.partial (_asyncio and _functools DWARF of
    // 3.8.18-3.13.0 and the Debian 3.14/3.15 debug builds); the tables set the rest.
    l.future_loop = 16;
    l.future_callback0 = 24;
    l.weakref_object = 16;  // PyWeakReference (3.8.18-3.13.0 DWARF, Debian 3.14/3.15 -dbg)
    l.future_callbacks = 40;
    l.future_exception = 48;
    l.future_result = 64;  // 3.10+: after fut_exception_tb
    l.partial_func = 16;
    l.partial_args = 24;
    l.partial_keywords = 32;
    // PySetObject, PyCFunctionObject, PyMethodDef: 3.8.18-3.13.0 DWARF, Debian 3.13-3.15 -dbg DWARF.
    l.set_used = 24;
    l.set_mask = 32;
    l.set_table = 40;
    l.cfunction_method_def = 16;
    l.cfunction_module = 32;
    l.method_def_name = 0;
    // lockobject and rlockobject, by tp_basicsize: 3.8.18-3.13.0 DWARF (char locked), Debian
    // 3.13.18/3.14.10/3.15.2 -dbg DWARF (PyMutex, _PyRecursiveMutex from 3.14; _Py_LOCKED = 1),
    // checked by reading the objects held and released in each interpreter.
    // lock_lock / rlock_lock (PyThread_type_lock: a sem_t* until 3.13) at 16; from the PyMutex
    // layouts their waiters park (Python/lock.c, _PyMutex_LockTimed -> _PyParkingLot_Park).
    l.lock_layouts = {{40, 32, 0xff, 16, false}, {24, 16, 1, kAbsent, true}};
    l.rlock_layouts = {{48, 24, 32, kAbsent, 0, false, 16}, {40, 24, 32, 16, 1, true, kAbsent}};
    // struct wait_entry {park_arg @0, addr @8, sema @16 (sem_t platform_sem @0)}: Debian
    // 3.13.18/3.14.10/3.15.2 -dbg and 3.13.0 DWARF (Python/parking_lot.c).
    l.wait_entry_address = -8;
    // PyBaseExceptionGroupObject: 3.11.7-3.13.0 DWARF (88 bytes), Debian 3.13.18/3.14.10/3.15.2
    // -dbg DWARF (96 bytes, excs_str: BaseExceptionGroup_repr).
    l.exception_group_layouts = {{88, false, 72, 80, kAbsent}, {96, true, 72, 80, 88}};
    l.float_value = 16;
    // _gil_runtime_state: interval, last_holder, locked, switch_number, then pthread cond +
    // mutex and switch_cond + switch_mutex (3.8.18-3.13.0 DWARF; 3.14.10 / 3.15.2 headers).
    l.gil_size = 208;
    l.gc_collecting = 200;  // 3.8-3.13 (DWARF); 3.14+ tables set their own
}

}  // namespace stackscope
