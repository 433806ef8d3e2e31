/* sigscope.tracing._speedups.Marks: a send's clock readings (included by _speedups.c).
 *
 * What Python code sees as ``send.marks`` for the sends the C path makes: the
 * readings before each receiver is handed out and one at the end, as C
 * integers.  It reads like the list the pure path keeps (``len``, ``m[i]``
 * with negative indices, iteration, ``append(int)``), and a send to up to
 * MARKS_INLINE - 1 receivers allocates nothing beyond the object itself: no
 * list, no item array, no int object per reading (each was an allocation on
 * the send and a free when the ring buffer dropped it).  Holds no objects, so
 * it is not tracked by the cyclic GC.
 */
#ifndef SIGSCOPE_MARKS_H
#define SIGSCOPE_MARKS_H

#define MARKS_INLINE 8

typedef struct {
    PyObject_HEAD
    Py_ssize_t size, capacity;
    long long *items; /* inline_items, or PyMem memory once it outgrew them */
    long long inline_items[MARKS_INLINE];
} MarksObject;

static PyTypeObject Marks_Type;

static inline int
is_marks(PyObject *obj)
{
    return Py_IS_TYPE(obj, &Marks_Type);
}

static PyObject *
marks_new_empty(void) /* new */
{
    MarksObject *self = PyObject_New(MarksObject, &Marks_Type);
    if (self == NULL) {
        return NULL;
    }
    self->size = 0;
    self->capacity = MARKS_INLINE;
    self->items = self->inline_items;
    return (PyObject *)self;
}

static PyObject *
marks_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)type;
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Marks() takes no arguments");
        return NULL;
    }
    return marks_new_empty();
}

static void
marks_dealloc(MarksObject *self)
{
    if (self->items != self->inline_items) {
        PyMem_Free(self->items);
    }
    PyObject_Free(self);
}

static int
marks_push(MarksObject *self, long long value) /* 0, or -1 with MemoryError */
{
    if (self->size == self->capacity) {
        if (self->capacity > PY_SSIZE_T_MAX / (Py_ssize_t)(2 * sizeof(long long))) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t capacity = self->capacity * 2;
        long long *items = PyMem_Malloc((size_t)capacity * sizeof(long long));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(items, self->items, (size_t)self->size * sizeof(long long));
        if (self->items != self->inline_items) {
            PyMem_Free(self->items);
        }
        self->items = items;
        self->capacity = capacity;
    }
    self->items[self->size++] = value;
    return 0;
}

static Py_ssize_t
marks_length(MarksObject *self)
{
    return self->size;
}

static PyObject *
marks_item(MarksObject *self, Py_ssize_t index) /* negative indices: adjusted by Python */
{
    if (index < 0 || index >= self->size) {
        PyErr_SetString(PyExc_IndexError, "marks index out of range");
        return NULL;
    }
    return PyLong_FromLongLong(self->items[index]);
}

static PyObject *
marks_append(MarksObject *self, PyObject *value) /* marks.append(int), as the pure path's */
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "marks take ints, not %.100s", Py_TYPE(value)->tp_name);
        return NULL;
    }
    long long reading = PyLong_AsLongLong(value);
    if ((reading == -1 && PyErr_Occurred()) || marks_push(self, reading) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PySequenceMethods marks_as_sequence = {
    .sq_length = (lenfunc)marks_length,
    .sq_item = (ssizeargfunc)marks_item,
};

static PyMethodDef marks_methods[] = {
    {"append", (PyCFunction)marks_append, METH_O, "Append a clock reading (an int)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Marks_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups.Marks",
    .tp_basicsize = sizeof(MarksObject),
    .tp_dealloc = (destructor)marks_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A send's clock readings as C integers (reads like a list of ints).",
    .tp_as_sequence = &marks_as_sequence,
    .tp_methods = marks_methods,
    .tp_new = marks_tp_new,
};

/* The clock now, after the readings in ``marks`` (a Marks or a list, borrowed). */
static int
marks_note(PyObject *marks, long long now) /* 0, or -1 with an error */
{
    if (is_marks(marks)) {
        return marks_push((MarksObject *)marks, now);
    }
    PyObject *stamp = PyLong_FromLongLong(now); /* new */
    if (stamp == NULL) {
        return -1;
    }
    int failed = PyList_Append(marks, stamp);
    Py_DECREF(stamp);
    return failed;
}

/* How many readings ``marks`` holds (a Marks or a list); -1 if it is neither. */
static inline Py_ssize_t
marks_count(PyObject *marks)
{
    if (marks == NULL) {
        return -1;
    }
    if (is_marks(marks)) {
        return ((MarksObject *)marks)->size;
    }
    return PyList_CheckExact(marks) ? PyList_GET_SIZE(marks) : -1;
}

#endif /* SIGSCOPE_MARKS_H */
