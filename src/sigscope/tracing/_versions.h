/* sigscope.tracing._speedups, part: CPython 3.13+'s per-class version tags.
 *
 * Included once by _speedups.c, at this point of its one translation unit
 * (see sigscope.tracing.versions for why the tags are given back).
 */

/* ---------------------------------------------------------- type versions */

/* CPython 3.13+ gives a class at most MAX_VERSIONS (1000) version tags in a
 * process (Objects/typeobject.c, MAX_VERSIONS_PER_CLASS): each modification
 * of the class or of a base, followed by a lookup, uses one.  A class out of
 * tags loses the method cache and the specializing interpreter's fast paths
 * for good.  A tracer's start and stop modify Signal, QuerySet,
 * BaseDatabaseWrapper and Thread (so every subclass): after ~500 of them
 * Django ran 15-40 % slower with no tracer running.  versions.py reads the
 * counts before a start and gives back what the start and stop used. */
#define MAX_VERSIONS 1000
#if PY_VERSION_HEX >= 0x030D0000 && !defined(Py_GIL_DISABLED)
#define HAS_VERSION_BUDGET 1
#else
#define HAS_VERSION_BUDGET 0
#endif

/* A class made by a class statement (a heap type): 1; else 0 with a TypeError. */
static int
is_heap_class(PyObject *cls)
{
    if (PyType_Check(cls) && PyType_HasFeature((PyTypeObject *)cls, Py_TPFLAGS_HEAPTYPE)) {
        return 1;
    }
    PyErr_SetString(PyExc_TypeError, "a class made by a class statement is needed");
    return 0;
}

/* versions_used(cls): the class's count of version tags used, or None where
 * CPython has no per-class budget (before 3.13, free-threaded builds). */
static PyObject *
versions_used_function(PyObject *module, PyObject *cls)
{
    (void)module;
    if (!is_heap_class(cls)) {
        return NULL;
    }
#if HAS_VERSION_BUDGET
    return PyLong_FromLong(((PyTypeObject *)cls)->tp_versions_used);
#else
    Py_RETURN_NONE;
#endif
}

/* give_back_versions(cls, used): lower the class's count back to ``used``
 * when it grew since (never raises it; a count past the cap, e.g. CPython's
 * "attribute cache unused" mark, is left alone).  True if lowered. */
static PyObject *
give_back_versions_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "give_back_versions(cls, used: int)");
        return NULL;
    }
    if (!is_heap_class(args[0])) {
        return NULL;
    }
    long used = PyLong_AsLong(args[1]);
    if (used == -1 && PyErr_Occurred()) {
        return NULL;
    }
#if HAS_VERSION_BUDGET
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (used >= 0 && used < cls->tp_versions_used && cls->tp_versions_used <= MAX_VERSIONS) {
        cls->tp_versions_used = (uint16_t)used;
        Py_RETURN_TRUE;
    }
#endif
    Py_RETURN_FALSE;
}
