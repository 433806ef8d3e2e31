/* sigscope.tracing._speedups, part: a finished send turned into an event.
 *
 * Included once by _speedups.c, at this point of its one translation unit.
 *   - the receivers' descriptions by their addresses (16 slots), the signal's
 *     name holder and the sender's label (per-object slots, checked by weak
 *     references), the thread's name and parent (kept in its thread state);
 *   - buffer_event(): into the tracer's ring (_ring.h) or its deque;
 *   - fast_finish() / finish(): record._finish()'s common case.
 */

/* ----------------------------------------------------------------- finish */


/* How names.infos_of() keys one receiver in a sequence: ``id(receiver)``, or
 * ``(id(m.__self__), id(m.__func__))`` for a bound method (a new object per
 * send, so never cached under its own id), new. */
static PyObject *
receiver_key(PyObject *receiver)
{
    if (Py_TYPE(receiver) != &PyMethod_Type) {
        return PyLong_FromVoidPtr(receiver);
    }
    return id_pair(PyMethod_GET_SELF(receiver), PyMethod_GET_FUNCTION(receiver));
}

/* The last sequences of receivers found in ``_by_ids``, by their objects'
 * addresses (a bound method: its __self__ and __func__): a repeated send's
 * lookup then needs neither a key of fresh ints nor comparing them.  A slot
 * holds weak references to those objects and is trusted only while each
 * still refers to the object now at its address (read without a call), so a
 * new object at a dead one's address never gets its descriptions; like the
 * Python caches, a live receiver's description is kept as long as it lives. */
#define SEQUENCE_SLOTS 16
#define SEQUENCE_MAX 64
typedef struct {
    Py_ssize_t n;                /* receivers; 0: empty */
    void *ids[2 * SEQUENCE_MAX]; /* per receiver: (object, NULL) or (__self__, __func__) */
    PyObject *refs;              /* new: a tuple, a weakref.ref per non-NULL id (else None) */
    PyObject *infos;             /* new: what _by_ids gave for them */
} SequenceSlot;
static SequenceSlot sequence_slots[SEQUENCE_SLOTS];

static void
sequence_slots_forget(void)
{
    for (Py_ssize_t i = 0; i < SEQUENCE_SLOTS; i++) {
        sequence_slots[i].n = 0;
        Py_CLEAR(sequence_slots[i].refs);
        Py_CLEAR(sequence_slots[i].infos);
    }
}

/* The addresses that key ``receivers`` (a list of n <= SEQUENCE_MAX), into ids. */
static void
sequence_ids(PyObject *receivers, Py_ssize_t n, void **ids)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *receiver = PyList_GET_ITEM(receivers, i);
        int method = Py_IS_TYPE(receiver, &PyMethod_Type);
        ids[2 * i] = method ? (void *)PyMethod_GET_SELF(receiver) : (void *)receiver;
        ids[2 * i + 1] = method ? (void *)PyMethod_GET_FUNCTION(receiver) : NULL;
    }
}

static SequenceSlot *
sequence_slot(void **ids, Py_ssize_t n)
{
    size_t h = ((size_t)ids[0] >> 4) ^ ((size_t)ids[2 * n - 2] >> 7) ^ (size_t)n;
    return &sequence_slots[h % SEQUENCE_SLOTS];
}

/* The slot's infos (borrowed) if it holds this sequence of live objects, else NULL. */
static PyObject *
sequence_hit(SequenceSlot *slot, void **ids, Py_ssize_t n)
{
    if (slot->n != n || memcmp(slot->ids, ids, (size_t)(2 * n) * sizeof(void *)) != 0) {
        return NULL;
    }
    for (Py_ssize_t j = 0; j < 2 * n; j++) {
        if (ids[j] != NULL && !ref_is(PyTuple_GET_ITEM(slot->refs, j), (PyObject *)ids[j])) {
            slot->n = 0; /* one died: its address may hold another object now */
            return NULL;
        }
    }
    return slot->infos;
}

/* Remember ``infos`` for the sequence (no error: objects without weak
 * references are simply not remembered). */
static void
sequence_keep(SequenceSlot *slot, void **ids, Py_ssize_t n, PyObject *infos)
{
    PyObject *refs = PyTuple_New(2 * n); /* new */
    for (Py_ssize_t j = 0; refs != NULL && j < 2 * n; j++) {
        PyObject *ref = ids[j] == NULL ? Py_NewRef(Py_None)
                                       : PyWeakref_NewRef((PyObject *)ids[j], NULL); /* new */
        if (ref == NULL) {
            Py_CLEAR(refs);
            break;
        }
        PyTuple_SET_ITEM(refs, j, ref); /* steals */
    }
    if (refs == NULL) {
        PyErr_Clear(); /* not weakly referenceable (or no memory): not remembered */
        return;
    }
    memcpy(slot->ids, ids, (size_t)(2 * n) * sizeof(void *));
    slot->n = n;
    Py_XSETREF(slot->refs, refs); /* steals refs */
    Py_XSETREF(slot->infos, Py_NewRef(infos));
}

/* The cached descriptions of the receivers Django called (record._finish's
 * ``_by_ids`` lookup, names.infos_of()'s for bound methods, when all ran),
 * new; NULL without an error: not cached, or not all ran (the Python code
 * decides). */
static PyObject *
cached_infos(PyObject *send)
{
    PyObject *marks = SEND(send)->marks;         /* borrowed */
    PyObject *receivers = SEND(send)->receivers; /* borrowed */
    PyObject *found = NULL;
    Py_ssize_t seen = marks_count(marks);
    if (seen >= 0 && receivers && PyList_CheckExact(receivers)) {
        Py_ssize_t n = SEND(send)->n;
        Py_ssize_t called = seen > n ? seen - 1 : seen;
        if (!(called > 0 && called == n && PyList_GET_SIZE(receivers) == n)) {
            return NULL;
        }
        void *ids[2 * SEQUENCE_MAX];
        SequenceSlot *slot = NULL;
        if (n <= SEQUENCE_MAX) {
            sequence_ids(receivers, n, ids);
            slot = sequence_slot(ids, n);
            found = sequence_hit(slot, ids, n); /* borrowed */
            if (found != NULL) {
                return Py_NewRef(found);
            }
        }
        PyObject *key = PyTuple_New(n); /* new */
        for (Py_ssize_t i = 0; key != NULL && i < n; i++) {
            PyObject *address = receiver_key(PyList_GET_ITEM(receivers, i)); /* new */
            if (address == NULL) {
                Py_CLEAR(key);
                break;
            }
            PyTuple_SET_ITEM(key, i, address); /* steals */
        }
        if (key != NULL) {
            found = PyDict_GetItemWithError(by_ids, key); /* a tuple of ints: no user code */
        }
        if (found != NULL && (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) == 0)) {
            found = NULL;
        }
        Py_XINCREF(found); /* before the DECREFs below: owned from here on */
        Py_XDECREF(key);
        if (found != NULL && slot != NULL) {
            sequence_keep(slot, ids, n, found);
        }
    }
    return found;
}

/* Every receiver returned None (the responses are Django's (receiver, response)
 * pairs): 1; 0 otherwise (the Python code describes the results). */
static int
all_none(PyObject *responses)
{
    if (!PyList_CheckExact(responses)) {
        return 1; /* not a list: the results stay None (as in Python) */
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(responses); i++) {
        PyObject *pair = PyList_GET_ITEM(responses, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            PyTuple_GET_ITEM(pair, 1) != Py_None) {
            return 0;
        }
    }
    return 1;
}

/* threading.get_ident() as an int (new); the last one is kept (under the GIL,
 * one thread at a time runs this), so a thread's sends share one object. */
static PyObject *
thread_ident(void)
{
    static unsigned long last_ident;
    static PyObject *last; /* new, or NULL */
    unsigned long ident = PyThread_get_thread_ident();
    if (last == NULL || ident != last_ident) {
        PyObject *fresh = PyLong_FromUnsignedLong(ident); /* new */
        if (fresh == NULL) {
            return NULL;
        }
        Py_XSETREF(last, fresh); /* steals fresh */
        last_ident = ident;
    }
    return Py_NewRef(last);
}

/* ``compute()`` for this thread (new; NULL with an error), for values fixed
 * for a thread's life: kept in the thread state's dict under ``key`` after the
 * first call (PyThreadState_GetDict(), documented for such per-thread state:
 * it goes with the thread, so a new thread that gets a dead one's ident
 * computes its own). */
static PyObject *
per_thread(PyObject *key, PyObject *compute)
{
    PyObject *state = PyThreadState_GetDict(); /* borrowed; NULL: no thread state */
    PyObject *value = state == NULL ? NULL : PyDict_GetItemWithError(state, key);
    if (value != NULL) {
        return Py_NewRef(value); /* borrowed from a dict only this thread uses */
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    value = PyObject_CallNoArgs(compute); /* new */
    if (value != NULL && state != NULL && PyDict_SetItem(state, key, value) < 0) {
        Py_CLEAR(value);
    }
    return value;
}

/* This thread was started inside a traced receiver (capture.thread_parent()
 * is not None): 1, 0 not, -1 with an error.  Set before the thread runs and
 * never changed, so asked once per thread: once a thread is marked, every
 * other thread's sends stay on the fast path. */
static int
thread_has_parent(void)
{
    PyObject *parent = per_thread(s_parent_key, thread_parent_fn); /* new */
    if (parent == NULL) {
        return -1;
    }
    int has = parent != Py_None;
    Py_DECREF(parent);
    return has;
}

/* The signals and senders named last: names._signal_names' holder of each
 * signal (and its ``ref``), names._sender_labels' (weakref, label) entry of
 * each sender, strong references, each checked by its weak reference
 * (without a call) to still be that object's.  Those caches replace an entry
 * only when its object died, so a live object's entry is the one kept here. */
#define NAME_SLOTS 16 /* a power of two */

typedef struct {
    PyObject *object; /* not owned: compared by address, checked by ref */
    PyObject *ref;    /* new: the weak reference to it, or NULL */
    PyObject *found;  /* new: the signal's holder, or the sender's (ref, label) entry */
} NameSlot;

static NameSlot signal_slots[NAME_SLOTS], sender_slots[NAME_SLOTS];

static void
name_slots_forget(NameSlot *slots)
{
    for (Py_ssize_t i = 0; i < NAME_SLOTS; i++) {
        PyObject *ref = slots[i].ref, *found = slots[i].found;
        slots[i].object = slots[i].ref = slots[i].found = NULL;
        Py_XDECREF(ref);
        Py_XDECREF(found);
    }
}

static inline NameSlot *
name_slot(NameSlot *slots, PyObject *object)
{
    NameSlot *slot = &slots[((uintptr_t)object >> 4) & (NAME_SLOTS - 1)];
    return slot->object == object && slot->ref != NULL && ref_is(slot->ref, object) ? slot : NULL;
}

static void
name_slot_set(NameSlot *slots, PyObject *object, PyObject *ref, PyObject *found)
{
    NameSlot *slot = &slots[((uintptr_t)object >> 4) & (NAME_SLOTS - 1)];
    PyObject *old_ref = slot->ref, *old_found = slot->found;
    slot->object = object;
    slot->ref = Py_NewRef(ref);
    slot->found = Py_NewRef(found);
    Py_XDECREF(old_ref); /* a weakref, a SignalName or a (weakref, str) tuple: no user code */
    Py_XDECREF(old_found);
}

/* The signal's cached name holder (new), or NULL without an error. */
static PyObject *
cached_holder(PyObject *signal)
{
    NameSlot *slot = name_slot(signal_slots, signal);
    if (slot != NULL) {
        return Py_NewRef(slot->found);
    }
    /* new: owned before any call, so a weakref callback that prunes the cache
     * cannot free it meanwhile */
    PyObject *found = Py_XNewRef(by_id(signal_names, signal));
    PyObject *ref = found == NULL ? NULL : PyObject_GetAttr(found, s_ref); /* new */
    int alive = ref == NULL ? -1 : refers_to(ref, signal);
    if (alive == 1 && PyWeakref_CheckRefExact(ref)) {
        name_slot_set(signal_slots, signal, ref, found);
    }
    Py_XDECREF(ref);
    if (alive != 1) {
        Py_CLEAR(found);
    }
    return found;
}

/* The sender's cached label (new), or NULL without an error. */
static PyObject *
cached_label(PyObject *sender)
{
    NameSlot *slot = name_slot(sender_slots, sender);
    if (slot != NULL) {
        return Py_NewRef(PyTuple_GET_ITEM(slot->found, 1));
    }
    PyObject *cached = Py_XNewRef(by_id(sender_labels, sender)); /* new */
    if (cached == NULL || !PyTuple_CheckExact(cached) || PyTuple_GET_SIZE(cached) != 2 ||
        refers_to(PyTuple_GET_ITEM(cached, 0), sender) != 1) {
        Py_XDECREF(cached);
        return NULL;
    }
    PyObject *ref = PyTuple_GET_ITEM(cached, 0);
    if (PyWeakref_CheckRefExact(ref)) {
        name_slot_set(sender_slots, sender, ref, cached);
    }
    PyObject *label = Py_NewRef(PyTuple_GET_ITEM(cached, 1));
    Py_DECREF(cached);
    return label;
}

/* The signal's cached name holder, the sender's cached label, the thread's id
 * and name (record._finish's cache hits), all new; 0 when one is not cached
 * (or with an error). */
static int
cached_names(PyObject *signal, PyObject *sender, PyObject **holder, PyObject **label,
             PyObject **thread, PyObject **thread_name)
{
    *holder = *label = *thread = *thread_name = NULL;
    PyObject *found = cached_holder(signal); /* new */
    if (found == NULL) {
        return 0;
    }
    *label = sender == Py_None ? Py_NewRef(Py_None) : cached_label(sender);
    if (*label == NULL) {
        Py_DECREF(found);
        return 0;
    }
    *thread = thread_ident(); /* new: threading.get_ident() */
    /* new: record.thread_name(), this thread's name as its first send saw it */
    *thread_name = *thread == NULL ? NULL : per_thread(s_thread_key, thread_name_fn);
    if (*thread_name == NULL) {
        Py_CLEAR(*label);
        Py_CLEAR(*thread);
        Py_DECREF(found);
        return 0;
    }
    *holder = found; /* the reference taken above */
    return 1;
}

/* The send's only tracer is the lone one that keeps events in its plain ring
 * buffer (no listener, ``Tracer._record`` not overridden: regroup() was told). */
static int
for_plain_tracer(PyObject *send)
{
    PyObject *tracers = SEND(send)->tracers; /* borrowed */
    return lone_tracer != NULL && tracers != NULL && PyTuple_CheckExact(tracers) &&
           PyTuple_GET_SIZE(tracers) == 1 && PyTuple_GET_ITEM(tracers, 0) == lone_tracer;
}

#include "_ring.h" /* Ring: the ring buffer, the common send as a compact record */

/* tracer._buffer.append((send, kwargs)); next(tracer._seen) (record._finish).
 * Read from the call, the kwargs are kept with the send instead (names and
 * values, no pair tuple per keyword argument): in a compact record when the
 * buffer is a Ring and the send fits one, else in the send itself
 * (send.kw_names, send.kw_values), the send the buffer's entry (no entry
 * tuple per send).  Tracer.events pairs them. */
static int
buffer_event(PyObject *send, Named *named)
{
    /* new; for_plain_tracer() was just true, and no Python code ran since */
    PyObject *options = Py_NewRef(lone_options);
    PyObject *append = Py_NewRef(lone_append); /* new (a receiver may stop the tracer) */
    PyObject *ring = Py_XNewRef(lone_ring);     /* new, or NULL: a deque */
    PyObject *seen = Py_NewRef(lone_seen);     /* new */
    int hides = lone_hides;
    PyObject *names = NULL, *kwargs;            /* new */
    if (named_size(named) == 0) {
        kwargs = PyTuple_New(0);
        names = Py_XNewRef(kwargs); /* no names, no values */
    } else if (named->kwnames == NULL) { /* finish(): the dict given */
        kwargs = kwargs_of(named->dict, PyTuple_GET_ITEM(options, 0), PyTuple_GET_ITEM(options, 1));
    } else {
        kwargs = kwargs_from_call(named, PyTuple_GET_ITEM(options, 0), hides,
                                  PyTuple_GET_ITEM(options, 1), &names);
    }
    Py_DECREF(options);
    int failed = 1; /* kwargs NULL: the error is set */
    Record record;
    if (kwargs != NULL && names != NULL && ring != NULL &&
        record_of(&record, send, names, kwargs)) {
        failed = ring_put((RingObject *)ring, &record) < 0; /* steals the record's references */
        if (failed) {
            record_release(&record);
        }
    } else if (kwargs != NULL) { /* the entry: (send, pairs), or the send, its kwargs in two fields */
        PyObject *event = NULL; /* new */
        if (names == NULL) {
            event = PyTuple_Pack(2, send, kwargs);
        } else {
            Py_XSETREF(SEND(send)->kw_names, Py_NewRef(names));
            Py_XSETREF(SEND(send)->kw_values, Py_NewRef(kwargs));
            event = Py_NewRef(send);
        }
        PyObject *done = event == NULL  ? NULL
                         : ring != NULL ? ring_append((RingObject *)ring, event)
                                        : PyObject_CallOneArg(append, event); /* new */
        failed = done == NULL;
        Py_XDECREF(done);
        Py_XDECREF(event);
    }
    Py_XDECREF(names);
    Py_XDECREF(kwargs);
    Py_XDECREF(ring);
    Py_DECREF(append);
    if (failed) {
        Py_DECREF(seen);
        return -1;
    }
    PyObject *count = (*Py_TYPE(seen)->tp_iternext)(seen); /* new: next(tracer._seen) */
    Py_DECREF(seen);
    if (count == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_DECREF(count);
    return 0;
}

static int
set_fields(PyObject *send, PyObject *infos, PyObject *holder, PyObject *label, PyObject *thread,
           PyObject *thread_name)
{
    SendObject *fields = SEND(send); /* all borrowed arguments: each field takes a new ref */
    fields->end = clock_ns();
    Py_XSETREF(fields->infos, Py_NewRef(infos));
    Py_XSETREF(fields->results, Py_NewRef(Py_None));
    Py_XSETREF(fields->signal, Py_NewRef(holder));
    Py_XSETREF(fields->sender, Py_NewRef(label));
    Py_XSETREF(fields->thread_id, Py_NewRef(thread));
    Py_XSETREF(fields->thread_name, Py_NewRef(thread_name));
    return 0;
}

/* record._finish(send, ...) for the common send: Django's loop, every receiver
 * ran and returned None, all of it cached, one plain tracer.  1 done, 0 not
 * that case (nothing changed: the Python _finish runs), -1 on error. */
static int
fast_finish(PyObject *send, PyObject *signal, PyObject *sender, Named *named,
            PyObject *responses)
{
    if (!is_send(send)) {
        return 0; /* not ours: the Python _finish */
    }
    SendObject *fields = SEND(send);
    PyObject *calls = fields->async_calls; /* borrowed: () or a list */
    int asynchronous = calls == NULL ? 0 : PyObject_IsTrue(calls);
    int plain = fields->error == Py_None && !fields->proxied && fields->wired && asynchronous == 0;
    if (!plain) {
        return asynchronous < 0 ? -1 : 0;
    }
    PyObject *infos = cached_infos(send); /* new: the lookups next may drop a cache entry */
    if (infos == NULL || !all_none(responses)) {
        Py_XDECREF(infos);
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *holder, *label, *thread, *thread_name; /* new, on success */
    int result = 0;
    if (cached_names(signal, sender, &holder, &label, &thread, &thread_name)) {
        if (for_plain_tracer(send)) {
            result = set_fields(send, infos, holder, label, thread, thread_name) < 0 ||
                             buffer_event(send, named) < 0
                         ? -1
                         : 1;
        }
        Py_DECREF(holder);
        Py_DECREF(label);
        Py_DECREF(thread);
        Py_DECREF(thread_name);
    }
    Py_DECREF(infos);
    return PyErr_Occurred() ? -1 : result;
}

static PyObject *
finish_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyDict_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "finish(send, signal, sender, named: dict, responses)");
        return NULL;
    }
    if (!configured()) {
        return pure_call("_finish", args, nargs);
    }
    Named named = {NULL, NULL, -1, args[3], 0}; /* the dict given */
    int done = fast_finish(args[0], args[1], args[2], &named, args[4]);
    if (done < 0) {
        return NULL;
    }
    if (done == 0) {
        return PyObject_Vectorcall(finish_fn, args, 5, NULL);
    }
    Py_RETURN_NONE;
}
