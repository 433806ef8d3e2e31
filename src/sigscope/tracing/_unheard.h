/* sigscope.tracing._speedups, part: is anybody listening, and the unheard sends' counts.
 *
 * Included once by _speedups.c, at this point of its one translation unit
 * (it uses the configuration and the running tracers declared above it).
 *   - nobody_listens(): Django's own first test in Signal.send, transcribed;
 *   - the unheard table: 128 slots keyed by (signal, sender) addresses that
 *     count sends nobody heard, flushed into the tracer's ``_unheard`` dict
 *     before Python reads or removes those keys.
 */

/* ------------------------------------------------------- no_receivers */

/* ``dict.get(key) is NO_RECEIVERS``: 1 or 0 (a miss; an unhashable key too,
 * whose TypeError Django's own lookup raises), -1 on another error. */
static inline int
maps_to_no_receivers(PyObject *dict, PyObject *key)
{
    PyObject *found = PyDict_GetItemWithError(dict, key); /* borrowed */
    if (found == NULL && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    return found == no_receivers;
}

/* _compat.hashes_quietly(sender): hash(sender) runs no code of the application.
 * A static type's hash is C; a class's (heap type's) when it is object's (inherited,
 * as by a model class) or "unhashable".  Anything else (a Python __hash__, or an
 * inherited C one of another static type): 0, not looked up (the Python code is
 * finer-grained; the outcome is the same, Django's send decides). */
static inline int
hashes_quietly(PyObject *sender)
{
    PyTypeObject *cls = Py_TYPE(sender);
    return !(cls->tp_flags & Py_TPFLAGS_HEAPTYPE) || cls->tp_hash == PyBaseObject_Type.tp_hash ||
           cls->tp_hash == PyObject_HashNotImplemented;
}

/* _compat.no_receivers_cached(signal, sender), transcribed: Django already
 * cached that ``sender`` has no receivers (1), or not (0); -1 on error. */
static int
no_receivers_cached(PyObject *cache, PyObject *sender)
{
    if (!hashes_quietly(sender)) {
        return 0; /* Django's own lookup hashes it; this one would once more */
    }
    if (PyDict_CheckExact(cache)) {
        return PyDict_GET_SIZE(cache) == 0 ? 0 : maps_to_no_receivers(cache, sender);
    }
    PyObject *data = PyObject_GetAttr(cache, s_data); /* new: a WeakKeyDictionary's dict */
    if (data == NULL || !PyDict_CheckExact(data)) {
        Py_XDECREF(data);
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
                return -1;
            }
            PyErr_Clear();
        }
        return 0;
    }
    PyObject *key = PyWeakref_NewRef(sender, NULL); /* new */
    if (key == NULL) {
        Py_DECREF(data);
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    int result = maps_to_no_receivers(data, key);
    Py_DECREF(key);
    Py_DECREF(data);
    return result;
}

/* _compat.signal_reads_quietly(type(signal)): generic attribute access, and neither
 * ``receivers`` nor ``sender_receivers_cache`` a class attribute (a property would
 * run).  The last class found so is remembered with its version tag (unique, and
 * gone when the class or a base changes). */
static PyTypeObject *quiet_type; /* borrowed: only compared, with its tag */
static unsigned int quiet_tag;

static inline unsigned int
version_tag(PyTypeObject *cls) /* 0: none valid */
{
#if PY_VERSION_HEX < 0x030C0000
    if (!(cls->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
        return 0;
    }
#endif
    return cls->tp_version_tag;
}

static int
reads_quietly(PyTypeObject *cls)
{
    unsigned int tag = version_tag(cls);
    if (tag != 0 && cls == quiet_type && tag == quiet_tag) {
        return 1;
    }
    if (cls->tp_getattro != PyObject_GenericGetAttr || _PyType_Lookup(cls, s_receivers) != NULL ||
        _PyType_Lookup(cls, s_cache) != NULL) {
        return 0;
    }
    tag = version_tag(cls); /* the lookups assign one */
    if (tag != 0) {
        quiet_type = cls;
        quiet_tag = tag;
    }
    return 1;
}

/* Django would return [] here: the signal has no receivers for ``sender``.
 * 1 yes, 0 no, -1 error.  (patch._django_sync's first condition.) */
static int
nobody_listens(PyObject *signal, PyObject *sender)
{
    if (!reads_quietly(Py_TYPE(signal))) {
        return 0; /* reading could run the application's code: Django's send decides */
    }
    PyObject *receivers = PyObject_GetAttr(signal, s_receivers); /* new: the instance's */
    if (receivers == NULL) {
        return -1;
    }
    int has = PyList_CheckExact(receivers) ? PyList_GET_SIZE(receivers) > 0 : 1; /* a list's truth */
    Py_DECREF(receivers);
    if (has <= 0) {
        return has < 0 ? -1 : 1;
    }
    PyObject *cache = PyObject_GetAttr(signal, s_cache); /* new */
    if (cache == NULL) {
        return -1;
    }
    int result = 0;
    if (PyDict_CheckExact(cache) && PyDict_GET_SIZE(cache) == 0) {
        result = 0; /* Django's `cache.get(sender)` on an empty dict: a miss */
    } else {
        result = no_receivers_cached(cache, sender);
    }
    Py_DECREF(cache);
    return result;
}

/* ``(id(a), id(b))`` (new), without Py_BuildValue's format parsing. */
static PyObject *
id_pair(PyObject *a, PyObject *b)
{
    PyObject *pair = PyTuple_New(2); /* new */
    PyObject *first = pair == NULL ? NULL : PyLong_FromVoidPtr(a);      /* new */
    PyObject *second = first == NULL ? NULL : PyLong_FromVoidPtr(b);    /* new */
    if (second == NULL) {
        Py_XDECREF(first);
        Py_XDECREF(pair);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, first);  /* steals first */
    PyTuple_SET_ITEM(pair, 1, second); /* steals second */
    return pair;
}

/* The lone tracer's unheard counts, without an allocation per send: a small
 * table keyed by the (signal, sender) pointer pair remembers a key that is
 * in ``table_counts`` (the tracer's ``_unheard`` dict; record.lone_unheard
 * when the entry was made) and a count not yet added to the dict.  An entry
 * is made only for a key already in the dict (the Python code made it, with
 * its weakref callback and names), so the table only ever adds to existing
 * counts.  Everything that reads or removes keys (Tracer.unheard, clear(),
 * _retire(), regroup()) first calls flush_unheard(): the pending counts go
 * into the dict and the table is emptied, so an id reused by a new object
 * finds no entry and takes the Python path.  clear() calls it after too: a
 * send between the flush and the removal (another thread's) made a slot for a
 * removed key, which would drop that key's later counts.  A slot held by
 * another pair is flushed and taken over. */
#define UNHEARD_SLOTS 128 /* a power of two */

typedef struct {
    PyObject *signal, *sender; /* not owned: compared by address only */
    PyObject *key;             /* new: (id(signal), id(sender)), equal to the dict's key */
    Py_ssize_t pending;        /* sends not yet added to the dict's count */
} UnheardSlot;

static UnheardSlot unheard_slots[UNHEARD_SLOTS];
static PyObject *table_counts; /* new: the dict the entries belong to, or NULL */

static inline UnheardSlot *
unheard_slot(PyObject *signal, PyObject *sender)
{
    uintptr_t mixed = ((uintptr_t)signal >> 4) * 0x9E3779B1u ^ ((uintptr_t)sender >> 4);
    return &unheard_slots[(mixed ^ (mixed >> 7)) & (UNHEARD_SLOTS - 1)];
}

/* Add one slot's pending count to ``counts`` and empty the slot.  The slot is
 * emptied first, so code that runs meanwhile (none is expected: the key is a
 * tuple of ints) never sees it twice.  -1 with an error. */
static int
unheard_settle(UnheardSlot *slot, PyObject *counts)
{
    PyObject *key = slot->key; /* new: taken from the slot */
    Py_ssize_t pending = slot->pending;
    slot->key = NULL;
    slot->signal = slot->sender = NULL;
    slot->pending = 0;
    if (key == NULL || pending == 0 || counts == NULL) {
        Py_XDECREF(key);
        return 0;
    }
    PyObject *count = PyDict_GetItemWithError(counts, key); /* borrowed */
    int failed = 0;
    if (count != NULL) { /* (gone: the key was removed without a flush; nothing to add to) */
        PyObject *more = PyLong_FromSsize_t(pending);              /* new */
        PyObject *total = more == NULL ? NULL : PyNumber_Add(count, more); /* new */
        failed = total == NULL || PyDict_SetItem(counts, key, total) < 0;
        Py_XDECREF(total);
        Py_XDECREF(more);
    } else {
        failed = PyErr_Occurred() != NULL;
    }
    Py_DECREF(key);
    return failed ? -1 : 0;
}

/* Every pending count into its dict; the table emptied.  0, or -1 with an error
 * (the remaining slots are emptied still, their counts added where possible). */
static int
unheard_flush(void)
{
    PyObject *counts = table_counts; /* new: taken, so a re-entrant flush finds none */
    table_counts = NULL;
    Raised first = {NULL, NULL, NULL}; /* the first error, reported; later ones dropped */
    int failed = 0;
    for (Py_ssize_t i = 0; i < UNHEARD_SLOTS; i++) {
        if (unheard_slots[i].key != NULL && unheard_settle(&unheard_slots[i], counts) < 0) {
            if (!failed) {
                raised_fetch(&first);
                failed = 1;
            } else {
                PyErr_Clear();
            }
        }
    }
    Py_XDECREF(counts);
    if (failed) {
        raised_restore(&first);
        return -1;
    }
    return 0;
}

static PyObject *
flush_unheard_function(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (!configured()) {
        Py_RETURN_NONE; /* another interpreter's table (or none yet): not touched */
    }
    return unheard_flush() < 0 ? NULL : Py_NewRef(Py_None);
}

/* Count the send in the table: 1 done, 0 no entry (the dict path runs). */
static inline int
unheard_bump(PyObject *counts, PyObject *signal, PyObject *sender)
{
    UnheardSlot *slot = unheard_slot(signal, sender);
    if (slot->key != NULL && slot->signal == signal && slot->sender == sender &&
        counts == table_counts && slot->pending < PY_SSIZE_T_MAX) {
        slot->pending++;
        return 1;
    }
    return 0;
}

/* ``key`` (borrowed; in ``counts``, its count just updated) gets a slot.  0, or
 * -1 with an error (flushing the slot's previous pair failed). */
static int
unheard_remember(PyObject *counts, PyObject *signal, PyObject *sender, PyObject *key)
{
    if (counts != table_counts && unheard_flush() < 0) { /* another tracer's table */
        return -1;
    }
    UnheardSlot *slot = unheard_slot(signal, sender);
    if (slot->key != NULL && unheard_settle(slot, table_counts) < 0) {
        return -1;
    }
    if (table_counts == NULL) {
        table_counts = Py_NewRef(counts);
    }
    if (counts != table_counts || slot->key != NULL) {
        return 0; /* code ran meanwhile and changed things: no entry this time */
    }
    slot->signal = signal;
    slot->sender = sender;
    slot->key = Py_NewRef(key);
    slot->pending = 0;
    return 0;
}

/* Count the unheard send (record_all is off).  Returns Django's [] (new). */
static PyObject *
count_unheard(PyObject *signal, PyObject *sender)
{
    /* new: building the key allocates a tuple, which may run the GC, whose
     * finalizers may stop a tracer: regroup() then drops lone_unheard */
    PyObject *counts = Py_XNewRef(lone_unheard); /* record.lone_unheard (regroup()) */
    if (counts != NULL) {
        if (unheard_bump(counts, signal, sender)) { /* the steady state: no allocation */
            Py_DECREF(counts);
            return PyList_New(0);
        }
        PyObject *key = id_pair(signal, sender); /* new */
        if (key == NULL) {
            Py_DECREF(counts);
            return NULL;
        }
        PyObject *count = PyDict_GetItemWithError(counts, key); /* borrowed */
        if (count != NULL) {
            PyObject *one_more = PyNumber_Add(count, one); /* new */
            int failed = one_more == NULL || PyDict_SetItem(counts, key, one_more) < 0 ||
                         unheard_remember(counts, signal, sender, key) < 0;
            Py_XDECREF(one_more);
            Py_DECREF(key);
            Py_DECREF(counts);
            return failed ? NULL : PyList_New(0);
        }
        Py_DECREF(key);
        if (PyErr_Occurred()) {
            Py_DECREF(counts);
            return NULL;
        }
    }
    Py_XDECREF(counts);
    if ((catch_all != NULL && PyTuple_GET_SIZE(catch_all) > 0) || filtering_on) {
        PyObject *done = PyObject_CallFunctionObjArgs(unheard_fn, signal, sender, NULL);
        if (done == NULL) {
            return NULL;
        }
        Py_DECREF(done);
    }
    return PyList_New(0);
}
