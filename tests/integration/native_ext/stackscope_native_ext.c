/* The C extension of tests/integration/test_native_frames.py, compiled at test time for each
 * interpreter (gcc -O0 -g -shared -fPIC against its headers). Its functions are the native
 * frames the tests look for, so each one is noinline and has a name found nowhere else:
 *   call_back(fn)     native_ext_call_back -> fn(): Python -> C -> Python
 *   block_forever()   releases the GIL, native_ext_block_in_read(): read() on a pipe nobody writes
 *   start_c_thread()  a pthread that never runs Python code, parked in native_ext_c_thread_block();
 *                     returns its tid (the truth) */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static int never_written[2] = {-1, -1};

static int make_pipe(void) {
    return never_written[0] >= 0 || pipe(never_written) == 0;
}

__attribute__((noinline)) static void native_ext_block_in_read(int fd) {
    char byte;
    for (;;) {
        if (read(fd, &byte, 1) == 0) pause(); /* EOF cannot happen: the write end stays open */
    }
}

__attribute__((noinline)) static PyObject* native_ext_call_back(PyObject* self, PyObject* fn) {
    (void)self;
    PyObject* result = PyObject_CallObject(fn, NULL);
    return result;
}

__attribute__((noinline)) static PyObject* native_ext_block_forever(PyObject* self, PyObject* unused) {
    (void)self;
    (void)unused;
    if (!make_pipe()) return PyErr_SetFromErrno(PyExc_OSError);
    Py_BEGIN_ALLOW_THREADS
    native_ext_block_in_read(never_written[0]);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static int tid_pipe[2];

__attribute__((noinline)) static void native_ext_c_thread_block(void) {
    long tid = syscall(SYS_gettid);
    if (write(tid_pipe[1], &tid, sizeof tid) != (ssize_t)sizeof tid) return;
    native_ext_block_in_read(never_written[0]);
}

__attribute__((noinline)) static void* native_ext_c_thread_main(void* unused) {
    (void)unused;
    native_ext_c_thread_block();
    return NULL;
}

static PyObject* native_ext_start_c_thread(PyObject* self, PyObject* unused) {
    (void)self;
    (void)unused;
    pthread_t thread;
    long tid = 0;
    if (!make_pipe() || pipe(tid_pipe) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    if (pthread_create(&thread, NULL, native_ext_c_thread_main, NULL) != 0) {
        PyErr_SetString(PyExc_OSError, "pthread_create failed");
        return NULL;
    }
    if (read(tid_pipe[0], &tid, sizeof tid) != (ssize_t)sizeof tid) return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(tid);
}

static PyMethodDef methods[] = {
    {"call_back", native_ext_call_back, METH_O, "fn(), called from C"},
    {"block_forever", native_ext_block_forever, METH_NOARGS, "read() a pipe nobody writes, GIL released"},
    {"start_c_thread", native_ext_start_c_thread, METH_NOARGS, "a C thread that never runs Python; its tid"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "stackscope_native_ext", .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit_stackscope_native_ext(void) {
    return PyModule_Create(&module);
}
