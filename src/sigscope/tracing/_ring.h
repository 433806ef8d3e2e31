/* sigscope.tracing._speedups.Ring: a tracer's ring buffer of recorded sends
 * (included by _speedups.c, after the Send and ModelPk code it reads).
 *
 * ``Tracer._buffer`` while the C path is in use: a deque(maxlen) of entries
 * as far as Python code goes (``append``, ``len``, ``clear``, ``maxlen``), and
 * the C path's common send is kept as a compact record instead of its send
 * object: 192 bytes in one array (three cache lines), where the send, its
 * clock readings, its id, its kwargs tuple and a model instance's ModelPk
 * were five objects of ~550 bytes over nine lines, written once and touched
 * again only when the ring dropped them, 1,000 sends later.  A full ring of
 * those evicted a good part of a CPU's second-level cache (Django's own code
 * and data) on every send; the records keep it to a sixth.
 *
 * A record holds what freeze() reads of such a send: ids, clock readings as
 * offsets from its start, and references to shared objects (the names
 * caches' entries, the call site's kwarg names, the kwargs as described:
 * builtin scalars and sigscope's own descriptions, one ModelPk as its prefix
 * and pk).  entries() turns it back into a send (a new capture.CSend, its
 * fields as the send had them) when events are read.
 *
 * Re-entrancy: letting a reference go, or allocating, may run Python code
 * (a __del__, the cyclic GC) that sends and so appends here.  The ring is
 * consistent before each such point: a record is filled before it is put,
 * references let go after, and entries() works on its own copy.
 */
#ifndef SIGSCOPE_RING_H
#define SIGSCOPE_RING_H

#include <stdint.h>

#define RING_MARKS 8  /* clock readings a record holds: sends to up to 7 receivers */
#define RING_VALUES 6 /* kwargs a record holds (m2m_changed has 6 besides sender) */
#define RING_LINE 64  /* the records are aligned to cache lines */

#define RECORD_REFS(X)                                                                            \
    X(method) X(signal_id) X(infos) X(holder) X(label) X(thread_id) X(thread_name) X(kw_names)

/* The references a record copies from its send's fields: (record field, send field). */
#define RECORD_FROM_SEND(X)                                                                       \
    X(method, method) X(signal_id, signal_id) X(infos, infos) X(holder, signal) X(label, sender)   \
        X(thread_id, thread_id) X(thread_name, thread_name)

typedef struct {
    PyObject *entry;  /* new: a Python entry (any object); NULL: this is a compact record */
    long long id, start;
    uint32_t end, n;  /* end - start; send.n */
    unsigned char n_marks, n_values, pk_at; /* pk_at: RING_VALUES when no ModelPk is inline */
    uint32_t marks[RING_MARKS]; /* each reading - start */
#define REF(field) PyObject *field;
    RECORD_REFS(REF) /* all new */
#undef REF
    PyObject *values[RING_VALUES]; /* new; values[pk_at]: that ModelPk's prefix */
    long long pk;                  /* values[pk_at]'s pk */
} Record;

/* The records array grows (doubling) up to maxlen, so a large max_events costs
 * nothing until used; the records wrap around at its current capacity, and
 * growing copies them in order from the start of the new array. */
#define RING_FIRST 64

typedef struct {
    PyObject_HEAD
    Record *records;    /* ``capacity`` of them, aligned to RING_LINE, in ``memory`` */
    void *memory;       /* PyMem_Malloc'd */
    Py_ssize_t maxlen, capacity, head, size;
} RingObject;

/* Room for ``capacity`` records in new memory, the records copied; -1 with MemoryError. */
static int
ring_resize(RingObject *ring, Py_ssize_t capacity)
{
    void *memory = PyMem_Malloc((size_t)capacity * sizeof(Record) + RING_LINE);
    if (memory == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    uintptr_t address = ((uintptr_t)memory + RING_LINE - 1) & ~(uintptr_t)(RING_LINE - 1);
    Record *records = (Record *)address;
    Py_ssize_t first = ring->size < ring->capacity - ring->head ? ring->size
                                                                : ring->capacity - ring->head;
    if (first > 0) { /* the oldest up to the end of the old array, then the rest from its start */
        memcpy(records, ring->records + ring->head, (size_t)first * sizeof(Record));
    }
    if (ring->size > first) {
        memcpy(records + first, ring->records, (size_t)(ring->size - first) * sizeof(Record));
    }
    PyMem_Free(ring->memory);
    ring->memory = memory;
    ring->records = records;
    ring->capacity = capacity;
    ring->head = 0;
    return 0;
}

static PyTypeObject Ring_Type;

static inline int
is_ring(PyObject *obj)
{
    return Py_IS_TYPE(obj, &Ring_Type);
}

/* Every reference a record holds, in ``refs`` (borrowed from it); how many. */
static int
record_refs(const Record *record, PyObject **refs)
{
    int n = 0;
    if (record->entry != NULL) {
        refs[n++] = record->entry;
        return n;
    }
#define REF(field) refs[n++] = record->field;
    RECORD_REFS(REF)
#undef REF
    for (int i = 0; i < record->n_values; i++) {
        refs[n++] = record->values[i];
    }
    return n;
}

#define RECORD_MAX_REFS (8 + RING_VALUES)

static void
record_release(const Record *record) /* a filled record that was not put */
{
    PyObject *refs[RECORD_MAX_REFS];
    for (int r = record_refs(record, refs) - 1; r >= 0; r--) {
        Py_DECREF(refs[r]);
    }
}

/* Puts a filled record (its references owned) in the ring, dropping the
 * oldest when full; the dropped one's references are let go last.  -1 with
 * MemoryError (the record's references are then the caller's still). */
static int
ring_put(RingObject *ring, const Record *record)
{
    PyObject *garbage[RECORD_MAX_REFS];
    int dropped = 0;
    Py_ssize_t at;
    if (ring->size == ring->capacity && ring->capacity < ring->maxlen &&
        ring_resize(ring, ring->capacity > ring->maxlen / 2 ? ring->maxlen : 2 * ring->capacity) <
            0) {
        return -1;
    }
    if (ring->size == ring->maxlen) { /* full: the capacity is maxlen */
        at = ring->head;
        dropped = record_refs(&ring->records[at], garbage);
        ring->head = at + 1 == ring->capacity ? 0 : at + 1;
    } else {
        at = ring->head + ring->size;
        at = at >= ring->capacity ? at - ring->capacity : at;
        ring->size++;
    }
    ring->records[at] = *record;
    for (int i = 0; i < dropped; i++) {
        Py_DECREF(garbage[i]);
    }
    return 0;
}

/* append(entry): as deque.append, the oldest entry dropped when full. */
static PyObject *
ring_append(RingObject *ring, PyObject *entry)
{
    Record record;
    memset(&record, 0, sizeof(record));
    record.entry = Py_NewRef(entry);
    if (ring_put(ring, &record) < 0) {
        record_release(&record);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Drops the oldest record, its references let go; 0 when empty. */
static int
ring_pop_oldest(RingObject *ring)
{
    if (ring->size == 0) {
        return 0;
    }
    PyObject *garbage[RECORD_MAX_REFS];
    Record *oldest = &ring->records[ring->head];
    int n = record_refs(oldest, garbage);
    memset(oldest, 0, sizeof(*oldest));
    ring->head = ring->head + 1 == ring->capacity ? 0 : ring->head + 1;
    ring->size--;
    for (int i = 0; i < n; i++) {
        Py_DECREF(garbage[i]);
    }
    return 1;
}

static PyObject *
ring_clear_method(RingObject *ring, PyObject *unused)
{
    (void)unused;
    /* as many as there are now: one a __del__ appends meanwhile stays */
    for (Py_ssize_t n = ring->size; n > 0 && ring_pop_oldest(ring); n--) {
    }
    Py_RETURN_NONE;
}

/* The send a compact record was (new): a capture.CSend with the fields freeze() reads. */
static PyObject *
record_as_send(const Record *record)
{
    PyObject *send = send_new((PyTypeObject *)Send_type, NULL, NULL); /* new */
    PyObject *id = send == NULL ? NULL : PyLong_FromLongLong(record->id);
    PyObject *marks = id == NULL ? NULL : marks_new_empty();
    PyObject *values = marks == NULL ? NULL : PyTuple_New(record->n_values);
    PyObject *tracers = values == NULL ? NULL : PyTuple_New(0);
    int failed = tracers == NULL;
    for (int i = 0; !failed && i < record->n_marks; i++) {
        failed = marks_push((MarksObject *)marks, record->start + record->marks[i]) < 0;
    }
    for (int i = 0; !failed && i < record->n_values; i++) {
        PyObject *value = record->values[i];
        if (i == record->pk_at) {
            PyObject *pk = PyLong_FromLongLong(record->pk); /* new */
            value = pk == NULL ? NULL : make_model_pk(record->values[i], pk);
            Py_XDECREF(pk);
        } else {
            Py_INCREF(value);
        }
        failed = value == NULL;
        if (!failed) {
            PyTuple_SET_ITEM(values, i, value); /* steals value */
        }
    }
    if (failed) {
        Py_XDECREF(id);
        Py_XDECREF(marks);
        Py_XDECREF(values);
        Py_XDECREF(tracers);
        Py_XDECREF(send);
        return NULL;
    }
    SendObject *fields = SEND(send); /* the rest: send_new()'s defaults, as the send had them */
    fields->id = id;           /* steals id */
    fields->marks = marks;     /* steals marks */
    fields->kw_values = values; /* steals values */
    fields->tracers = tracers; /* steals tracers */
    fields->start = record->start;
    fields->end = record->start + record->end;
    fields->n = record->n;
    fields->wired = 1;
    fields->results = Py_NewRef(Py_None);
#define BACK(ours, its) fields->its = Py_NewRef(record->ours);
    RECORD_FROM_SEND(BACK)
#undef BACK
    fields->kw_names = Py_NewRef(record->kw_names);
    return send;
}

/* entries(known): the entries, oldest first, a compact record as its send,
 * or as its id (an int) when that id is a key of the dict ``known`` (the
 * events already frozen: nothing to rebuild). */
static PyObject *
ring_entries(RingObject *ring, PyObject *known)
{
    if (!PyDict_CheckExact(known)) {
        PyErr_SetString(PyExc_TypeError, "entries(known: dict)");
        return NULL;
    }
    /* a copy first, each reference taken (no Python code runs while copying):
     * building the sends allocates, and the GC may run code that appends */
    Py_ssize_t size = ring->size;
    Record *copy = PyMem_Malloc((size_t)(size > 0 ? size : 1) * sizeof(Record));
    if (copy == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *refs[RECORD_MAX_REFS];
    for (Py_ssize_t i = 0, at = ring->head; i < size; i++, at = at + 1 == ring->capacity ? 0 : at + 1) {
        copy[i] = ring->records[at];
        for (int r = record_refs(&copy[i], refs) - 1; r >= 0; r--) {
            Py_INCREF(refs[r]);
        }
    }
    PyObject *out = PyList_New(size); /* new */
    for (Py_ssize_t i = 0; out != NULL && i < size; i++) {
        PyObject *item = NULL; /* new */
        if (copy[i].entry != NULL) {
            item = Py_NewRef(copy[i].entry);
        } else {
            item = PyLong_FromLongLong(copy[i].id);
            int seen = item == NULL ? -1 : PyDict_Contains(known, item); /* int keys: no Python code */
            if (seen == 0) {
                Py_SETREF(item, record_as_send(&copy[i]));
            } else if (seen < 0) {
                Py_CLEAR(item);
            }
        }
        if (item == NULL) {
            Py_CLEAR(out);
        } else {
            PyList_SET_ITEM(out, i, item); /* steals item */
        }
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        for (int r = record_refs(&copy[i], refs) - 1; r >= 0; r--) {
            Py_DECREF(refs[r]);
        }
    }
    PyMem_Free(copy);
    return out;
}

/* The compact record of a finished send (its fields set by set_fields()),
 * its kwargs ``names`` and described ``values`` (borrowed): 1 filled (each
 * reference taken), 0 the send does not fit one (it stays its own entry). */
static int
record_of(Record *record, PyObject *send, PyObject *names, PyObject *values)
{
    SendObject *fields = SEND(send);
    PyObject *marks = fields->marks;
    Py_ssize_t n_values = PyTuple_GET_SIZE(values);
    if (fields->parent != Py_None || fields->task != Py_None || fields->results != Py_None ||
        marks_count(marks) < 0 || marks_count(marks) > RING_MARKS ||
        n_values > RING_VALUES || fields->n < 0 || fields->n > (Py_ssize_t)UINT32_MAX ||
        !PyLong_CheckExact(fields->id) || !PyTuple_CheckExact(names) ||
        PyTuple_GET_SIZE(names) != n_values) {
        return 0;
    }
    int overflow = 0;
    /* exact ints: no error, only ``overflow`` */
    long long id = PyLong_AsLongLongAndOverflow(fields->id, &overflow);
    long long start = fields->start, span = fields->end - start;
    if (overflow || span < 0 || span > (long long)UINT32_MAX) {
        return 0;
    }
    memset(record, 0, sizeof(*record));
    Py_ssize_t n_marks = marks_count(marks); /* a Marks, or the list of a send Python made */
    for (Py_ssize_t i = 0; i < n_marks; i++) {
        long long offset;
        if (is_marks(marks)) {
            offset = ((MarksObject *)marks)->items[i] - start;
        } else {
            PyObject *reading = PyList_GET_ITEM(marks, i); /* borrowed */
            offset = PyLong_CheckExact(reading) ? PyLong_AsLongLongAndOverflow(reading, &overflow)
                                                : (overflow = 1);
            offset -= start;
        }
        if (overflow || offset < 0 || offset > (long long)UINT32_MAX) {
            return 0;
        }
        record->marks[i] = (uint32_t)offset;
    }
    record->pk_at = RING_VALUES;
    for (Py_ssize_t i = 0; i < n_values; i++) {
        PyObject *value = PyTuple_GET_ITEM(values, i);
        record->values[i] = value;
        if (record->pk_at == RING_VALUES && (PyObject *)Py_TYPE(value) == model_pk_type &&
            model_pk_layout.known == model_pk_type && model_pk_layout.offsets[0] != 0 &&
            model_pk_layout.offsets[1] != 0) {
            PyObject *prefix = *(PyObject **)((char *)value + model_pk_layout.offsets[0]);
            PyObject *pk = *(PyObject **)((char *)value + model_pk_layout.offsets[1]);
            overflow = 1;
            long long number = pk != NULL && PyLong_CheckExact(pk)
                                   ? PyLong_AsLongLongAndOverflow(pk, &overflow)
                                   : 0;
            if (prefix != NULL && !overflow) {
                record->values[i] = prefix;
                record->pk = number;
                record->pk_at = (unsigned char)i;
            }
            overflow = 0;
        }
    }
    for (Py_ssize_t i = 0; i < n_values; i++) {
        Py_INCREF(record->values[i]);
    }
    record->id = id;
    record->start = start;
    record->end = (uint32_t)span;
    record->n = (uint32_t)fields->n;
    record->n_marks = (unsigned char)n_marks;
    record->n_values = (unsigned char)n_values;
#define KEEP(ours, its) record->ours = Py_NewRef(fields->its);
    RECORD_FROM_SEND(KEEP)
#undef KEEP
    record->kw_names = Py_NewRef(names);
    return 1;
}

static PyObject *
ring_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t maxlen;
    static char *keywords[] = {"maxlen", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n:Ring", keywords, &maxlen)) {
        return NULL;
    }
    if (maxlen < 1 || (size_t)maxlen > (PY_SSIZE_T_MAX - RING_LINE) / sizeof(Record)) {
        PyErr_SetString(PyExc_ValueError, "Ring(maxlen): maxlen must be at least 1 (and fit memory)");
        return NULL;
    }
    RingObject *ring = (RingObject *)type->tp_alloc(type, 0); /* new, zeroed, tracked */
    if (ring == NULL) {
        return NULL;
    }
    ring->maxlen = maxlen;
    if (ring_resize(ring, maxlen < RING_FIRST ? maxlen : RING_FIRST) < 0) {
        Py_DECREF(ring);
        return NULL;
    }
    return (PyObject *)ring;
}

static int
ring_traverse(RingObject *ring, visitproc visit, void *arg)
{
    PyObject *refs[RECORD_MAX_REFS];
    for (Py_ssize_t i = 0, at = ring->head; i < ring->size; i++, at = at + 1 == ring->capacity ? 0 : at + 1) {
        for (int r = record_refs(&ring->records[at], refs) - 1; r >= 0; r--) {
            Py_VISIT(refs[r]);
        }
    }
    return 0;
}

static int
ring_tp_clear(RingObject *ring)
{
    while (ring_pop_oldest(ring)) {
    }
    return 0;
}

static void
ring_dealloc(RingObject *ring)
{
    PyObject_GC_UnTrack(ring);
    ring_tp_clear(ring);
    PyMem_Free(ring->memory);
    Py_TYPE(ring)->tp_free((PyObject *)ring);
}

static Py_ssize_t
ring_length(RingObject *ring)
{
    return ring->size;
}

static PyObject *
ring_iter(RingObject *ring)
{
    PyObject *known = PyDict_New(); /* new: nothing known, every record as its send */
    PyObject *entries = known == NULL ? NULL : ring_entries(ring, known);
    Py_XDECREF(known);
    PyObject *iterator = entries == NULL ? NULL : PyObject_GetIter(entries);
    Py_XDECREF(entries);
    return iterator;
}

static PySequenceMethods ring_as_sequence = {
    .sq_length = (lenfunc)ring_length,
};

static PyMethodDef ring_methods[] = {
    {"append", (PyCFunction)ring_append, METH_O, "Append an entry (the oldest dropped when full)."},
    {"clear", (PyCFunction)ring_clear_method, METH_NOARGS, "Drop every entry."},
    {"entries", (PyCFunction)ring_entries, METH_O,
     "entries(known: dict) -> list: the entries, oldest first; a compact record as its send,\n"
     "or as its id when that id is a key of ``known``."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef ring_members[] = {
    {"maxlen", T_PYSSIZET, offsetof(RingObject, maxlen), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Ring_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups.Ring",
    .tp_basicsize = sizeof(RingObject),
    .tp_dealloc = (destructor)ring_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Ring(maxlen): a tracer's ring buffer of recorded sends (a deque(maxlen) to Python).",
    .tp_traverse = (traverseproc)ring_traverse,
    .tp_clear = (inquiry)ring_tp_clear,
    .tp_as_sequence = &ring_as_sequence,
    .tp_iter = (getiterfunc)ring_iter,
    .tp_methods = ring_methods,
    .tp_members = ring_members,
    .tp_new = ring_new,
};

#endif /* SIGSCOPE_RING_H */
