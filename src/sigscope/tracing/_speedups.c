/* sigscope.tracing._speedups: the hot path of a traced Django-loop send, in C.
 *
 * Optional: built at install time when a compiler is there (setup.py,
 * ``optional=True``); without it, or with ``SIGSCOPE_PURE=1``, the pure-Python
 * code in patch.py / capture.py / record.py runs instead.  Every function here
 * is a transcription of a named Python function and must behave the same; the
 * tests run the tracing suite on both paths.
 *
 * What lives here:
 *   - Timed:    capture.timed(), as an iterator type (notes the clock as Django
 *               fetches each receiver, and once at the end);
 *   - SyncSend: patch._django_sync()'s ``method`` (the patched Signal.send /
 *               send_robust), a method-descriptor callable (no Python frame,
 *               so warnings stacklevels and recursion depth are Django's);
 *   - kwargs(): record._kwargs()'s common case (no name hidden);
 *   - the caches of the hot path, each bounded, by address, never trusted
 *     beyond what the Python caches guarantee: the lone tracer's pending
 *     unheard counts (flush_unheard() before Python reads them), per call
 *     site the kwarg names and the redactor that hides none of them, per
 *     model class / signal / sender the names caches' entries (checked by
 *     their weak references).
 *
 * The rules the Python code follows hold here too:
 *   - exceptions from Django's loop (any BaseException) are never caught:
 *     they are set aside while the send is recorded and restored, the
 *     identical objects (type, value, traceback);
 *   - recording errors that are ``Exception`` go to record.failed(); a
 *     BaseException raised inside sigscope propagates (its __context__ is
 *     the application's exception, as in a Python ``finally``);
 *   - nothing of the application runs here beyond what the Python code runs
 *     (Django's own lookups; type checks are exact, by pointer).
 *
 * Refcounts: every local marked "new" is owned and released on every path
 * (the ``done:``/``fail:`` labels); "borrowed" ones are not.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h> /* offsetof */
#include <structmember.h> /* PyMemberDef, T_* (3.10-3.13) */

/* ------------------------------------------------------------------ clock */

/* The clock of time.perf_counter_ns(), which the Python code uses elsewhere. */
static inline long long
clock_ns(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t now = 0;
    (void)PyTime_PerfCounterRaw(&now); /* cannot fail once Python runs */
    return (long long)now;
#else
    return (long long)_PyTime_GetPerfCounter();
#endif
}

#include "_marks.h" /* Marks: a send's clock readings as C integers */

static int
append_clock(PyObject *marks) /* marks: a Marks or a list (borrowed); -1 on error */
{
    return marks_note(marks, clock_ns());
}

static PyObject *
clock_function(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromLongLong(clock_ns());
}

/* ------------------------------------------------------- raised exceptions */

/* One raised exception set aside, owned (NULL: none).  Python >= 3.12 keeps
 * the traceback on the exception object; older ones pass a (type, value,
 * traceback) triple, normalized here so ``value.__traceback__`` is set. */
typedef struct {
    PyObject *type, *value, *traceback; /* all new (or NULL) */
} Raised;

static void
raised_fetch(Raised *saved) /* takes the pending exception */
{
#if PY_VERSION_HEX >= 0x030C0000
    saved->value = PyErr_GetRaisedException();
    saved->type = saved->traceback = NULL;
#else
    PyErr_Fetch(&saved->type, &saved->value, &saved->traceback);
    PyErr_NormalizeException(&saved->type, &saved->value, &saved->traceback);
    if (saved->traceback != NULL && saved->value != NULL) {
        PyException_SetTraceback(saved->value, saved->traceback);
    }
#endif
}

static void
raised_restore(Raised *saved) /* gives the references back to the interpreter */
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(saved->value);
#else
    PyErr_Restore(saved->type, saved->value, saved->traceback);
#endif
    saved->type = saved->value = saved->traceback = NULL;
}

static void
raised_clear(Raised *saved)
{
    Py_CLEAR(saved->type);
    Py_CLEAR(saved->value);
    Py_CLEAR(saved->traceback);
}

/* sigscope's own BaseException ``own`` ends the send while the application's
 * ``app`` (maybe none) was propagating: as in a Python ``finally``, ``own``
 * propagates, with ``app`` as its __context__.  Both are consumed. */
static void
raised_replace(Raised *own, Raised *app)
{
    if (own->value != NULL && app->value != NULL && own->value != app->value) {
        PyException_SetContext(own->value, Py_NewRef(app->value)); /* steals the new ref */
    }
    raised_clear(app);
    raised_restore(own);
}

/* ---------------------------------------------------------- configuration */

/* Set once by configure() (sigscope.tracing.accel); all strong references. */
static PyObject *Send_type;     /* capture.Send */
static PyObject *current_var;   /* capture.current (a ContextVar) */
static PyObject *safe_capture;  /* capture.safe_capture */
static PyObject *unwrap_pairs;  /* capture.unwrap_pairs */
static PyObject *record_dict;   /* vars(sigscope.tracing.record): live globals */
static PyObject *route_fn;      /* record.route */
static PyObject *unheard_fn;    /* record.unheard */
static PyObject *finish_fn;     /* record._finish */
static PyObject *failed_fn;     /* record.failed */
static PyObject *value_fn;      /* record._value */
static PyObject *kwargs_fn;     /* record._kwargs (the cases decided in Python) */
static PyObject *no_receivers;  /* django.dispatch.dispatcher.NO_RECEIVERS */
static PyObject *limit_obj;     /* values.LIMIT */
static Py_ssize_t limit = 200;
static PyObject *one;           /* the int 1 */
static PyObject *str_dict_type; /* values.StrDict */
static PyObject *model_pk_type; /* values.ModelPk */
static Py_ssize_t items_limit = 8; /* values.ITEMS */
static PyObject *names_dict;    /* vars(sigscope.tracing.names): the description caches */
static PyObject *values_dict;   /* vars(sigscope.tracing.values): its caches */
static PyObject *next_id;       /* capture.next_id */
static PyObject *capture_dict;  /* vars(sigscope.tracing.capture): task_calls, threads_marked */
static PyObject *get_running_loop; /* asyncio._get_running_loop */
static PyObject *current_task_fn;  /* capture._current_task (asyncio.current_task) */
static PyObject *task_name_fn;     /* capture._task_name */
static PyObject *task_type;        /* capture._Task (asyncio.Task) */
/* Dicts the modules mutate in place and never rebind (record.py imports the
 * names ones by name too): new references, taken by configure(). */
static PyObject *task_calls;    /* capture.task_calls */
static PyObject *by_ids;        /* names._by_ids */
static PyObject *signal_names;  /* names._signal_names */
static PyObject *sender_labels; /* names._sender_labels */
static PyObject *thread_name_fn; /* record.thread_name */
static PyObject *thread_parent_fn; /* capture.thread_parent */
static PyObject *id_counter;    /* capture.next_id.__self__: the itertools.count */
static int threads_marked;      /* capture.threads_marked was seen True (it stays True) */

/* Interned attribute and key names. */
static PyObject *s_receivers, *s_cache, *s_data, *s_sender, *s_wired, *s_signal_id, *s_proxied,
    *s_error, *s_async_calls, *s_tracers, *s_record_all, *s_lone_unheard, *s_catch_all,
    *s_filtering, *s_enabled, *s_plans, *s_marks, *s_n, *s_infos, *s_results, *s_signal,
    *s_end, *s_thread_id, *s_value_options, *s_buffer, *s_seen, *s_record,
    *s_append, *s_by_ids, *s_signal_names, *s_sender_labels, *s_thread_key, *s_parent_key, *s_get_name, *s_plain_record,
    *s_ref, *s_full, *s_kinds, *s_models, *s_dict, *s_id, *s_parent, *s_method, *s_start,
    *s_task_calls, *s_threads_marked, *s_safe;

/* The interpreter configure() was called in (its id; -1: not yet).  The
 * references above are that interpreter's objects: a sub-interpreter (e.g.
 * mod_wsgi's default, one per application) shares this single-phase module's
 * C globals, so it must neither use nor replace them.  There every call takes
 * the pure-Python path (the ``fallback`` methods, record._kwargs). */
static int64_t configured_in = -1;

static int64_t
this_interpreter(void)
{
    return PyInterpreterState_GetID(PyInterpreterState_Get());
}

static int
configured(void) /* 1: use the C path here; 0: not (no error set) */
{
    return Send_type != NULL && configured_in == this_interpreter();
}

/* ------------------------------------------------------------------- Send */

/* capture.Send (the send in progress) with struct fields: capture.CSend is a
 * ``__slots__ = ()`` Python subclass (its __init__ is the Python one), bound
 * as capture.Send while the accelerator is in use.  The C code below reads
 * and writes the fields directly; Python code through the members (the same
 * names, the same defaults as the pure class's class attributes; the fields
 * the pure class only annotates raise AttributeError until set).  Every
 * object field is owned (new) or NULL; GC-tracked (an AsyncCall refers back
 * to its send). */
typedef struct {
    PyObject_HEAD
    PyObject *id, *parent, *signal_id, *method, *tracers, *marks; /* set by __init__ */
    long long start, end; /* clock readings (end: set when the send ends) */
    char proxied, wired;
    Py_ssize_t running, n;
    PyObject *receivers, *calls, *async_calls, *error, *task, *task_key; /* defaults */
    PyObject *signal, *sender, *thread_id, *thread_name, *infos, *results; /* set at its end */
    PyObject *kw_names, *kw_values; /* the C path's recorded kwargs (names, values), or NULL */
} SendObject;

static PyObject *no_calls; /* capture.NO_CALLS (new; set by configure()) */
static PyObject *zero;     /* the int 0 */

#define SEND(o) ((SendObject *)(o))

/* A new send with the class defaults (tp_new; also the C fast path's allocation). */
static PyObject *
send_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args; /* CSend.__init__ (Python) takes the arguments */
    (void)kwargs;
    if (no_calls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sigscope._speedups: configure() was not called");
        return NULL;
    }
    SendObject *self = (SendObject *)type->tp_alloc(type, 0); /* new, zeroed, tracked */
    if (self == NULL) {
        return NULL;
    }
    self->parent = Py_NewRef(Py_None);
    self->running = -1;
    self->receivers = Py_NewRef(Py_None);
    self->calls = Py_NewRef(no_calls);
    self->async_calls = PyTuple_New(0); /* the empty tuple singleton: cannot fail */
    self->error = Py_NewRef(Py_None);
    self->task = Py_NewRef(Py_None);
    self->task_key = Py_NewRef(zero);
    if (self->async_calls == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

#define SEND_FIELDS(X)                                                                            \
    X(id) X(parent) X(signal_id) X(method) X(tracers) X(marks) X(receivers) X(calls)              \
        X(async_calls) X(error) X(task) X(task_key) X(signal) X(sender) X(thread_id)               \
            X(thread_name) X(infos) X(results) X(kw_names) X(kw_values)

static int
send_traverse(SendObject *self, visitproc visit, void *arg)
{
#define VISIT(field) Py_VISIT(self->field);
    SEND_FIELDS(VISIT)
#undef VISIT
    return 0; /* capture.CSend's type: subtype_traverse visits it */
}

static int
send_clear(SendObject *self)
{
#define CLEAR(field) Py_CLEAR(self->field);
    SEND_FIELDS(CLEAR)
#undef CLEAR
    return 0;
}

static void
send_dealloc(SendObject *self)
{
    PyObject_GC_UnTrack(self);
    send_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self); /* capture.CSend's type: subtype_dealloc drops it */
}

static PyMemberDef send_members[] = {
#define OBJ(field) {#field, T_OBJECT_EX, offsetof(SendObject, field), 0, NULL},
    SEND_FIELDS(OBJ)
#undef OBJ
    {"start", T_LONGLONG, offsetof(SendObject, start), 0, NULL},
    {"end", T_LONGLONG, offsetof(SendObject, end), 0, NULL},
    {"proxied", T_BOOL, offsetof(SendObject, proxied), 0, NULL},
    {"wired", T_BOOL, offsetof(SendObject, wired), 0, NULL},
    {"running", T_PYSSIZET, offsetof(SendObject, running), 0, NULL},
    {"n", T_PYSSIZET, offsetof(SendObject, n), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Send_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups.Send",
    .tp_basicsize = sizeof(SendObject),
    .tp_dealloc = (destructor)send_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "capture.Send's fields as a struct (capture.CSend subclasses it).",
    .tp_traverse = (traverseproc)send_traverse,
    .tp_clear = (inquiry)send_clear,
    .tp_members = send_members,
    .tp_new = send_new,
};

/* ``obj`` is a send of the bound type (capture.CSend): its fields may be read directly. */
static inline int
is_send(PyObject *obj)
{
    return (PyObject *)Py_TYPE(obj) == Send_type;
}

/* ------------------------------------------------------ the running tracers */

/* record.catch_all, record.filtering, record.record_all, record.lone_unheard,
 * as tracer._regroup() last set them (it calls regroup() on every start and
 * stop, right after rebinding the Python globals), and the lone tracer that
 * keeps events in its plain ring buffer: the send reads these, not the
 * module's dict.  All new references (or NULL: none). */
static PyObject *catch_all;    /* a tuple of tracers */
static int filtering_on;       /* bool(record.filtering) */
static int record_all_on;      /* record.record_all */
static PyObject *lone_unheard; /* a dict, or NULL (record.lone_unheard is None) */
static PyObject *lone_tracer;  /* the only running tracer, plain ``_record``; or NULL */
static PyObject *lone_append;  /* lone_tracer._buffer.append (never rebound) */
static PyObject *lone_options; /* lone_tracer._value_options: (redactor, reprs) */
static PyObject *lone_seen;    /* lone_tracer._seen, an itertools.count (never rebound) */
static PyObject *lone_ring;    /* lone_tracer._buffer if it is a Ring (never rebound), or NULL */
static PyTypeObject Ring_Type; /* _ring.h */
static int lone_hides;         /* lone_tracer's redactor.enabled (set by its __init__ only) */

static int unheard_flush(void); /* the unheard table (below) */
static void plans_forget(void); /* the redaction plans (below) */

/* regroup(catch_all, filtering, record_all, lone_unheard, plain): the values
 * tracer._regroup() just gave record's globals; ``plain``: the lone tracer if
 * it has no listener and its ``_record`` is Tracer._record, else None (its
 * ``listener`` setter regroups). */
static PyObject *
regroup_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyTuple_CheckExact(args[0]) ||
        (args[3] != Py_None && !PyDict_CheckExact(args[3]))) {
        PyErr_SetString(PyExc_TypeError,
                        "regroup(catch_all: tuple, filtering, record_all, lone_unheard, plain)");
        return NULL;
    }
    if (Send_type != NULL && !configured()) {
        Py_RETURN_NONE; /* another interpreter's state: never replaced from here */
    }
    int filters = PyObject_IsTrue(args[1]), all = PyObject_IsTrue(args[2]);
    if (filters < 0 || all < 0) {
        return NULL;
    }
    PyObject *append = NULL, *options = NULL, *seen = NULL, *ring = NULL; /* new */
    int hides = 0;
    if (args[4] != Py_None) {
        PyObject *buffer = PyObject_GetAttr(args[4], s_buffer); /* new */
        append = buffer == NULL ? NULL : PyObject_GetAttr(buffer, s_append);
        ring = append != NULL && Py_IS_TYPE(buffer, &Ring_Type) ? Py_NewRef(buffer) : NULL;
        Py_XDECREF(buffer);
        options = append == NULL ? NULL : PyObject_GetAttr(args[4], s_value_options);
        if (options != NULL && (!PyTuple_CheckExact(options) || PyTuple_GET_SIZE(options) != 2)) {
            Py_CLEAR(options);
            PyErr_SetString(PyExc_TypeError, "regroup(): _value_options is not a pair");
        }
        seen = options == NULL ? NULL : PyObject_GetAttr(args[4], s_seen);
        if (seen != NULL && Py_TYPE(seen)->tp_iternext == NULL) {
            Py_CLEAR(seen);
            PyErr_SetString(PyExc_TypeError, "regroup(): _seen is not an iterator");
        }
        PyObject *enabled = seen == NULL ? NULL : PyObject_GetAttr(PyTuple_GET_ITEM(options, 0), s_enabled);
        hides = enabled == NULL ? -1 : PyObject_IsTrue(enabled);
        Py_XDECREF(enabled);
        if (hides < 0) {
            Py_XDECREF(append);
            Py_XDECREF(options);
            Py_XDECREF(seen);
            Py_XDECREF(ring);
            return NULL;
        }
    }
    if (unheard_flush() < 0) { /* the counts so far belong to the tracers of before */
        Py_XDECREF(append);
        Py_XDECREF(options);
        Py_XDECREF(seen);
        Py_XDECREF(ring);
        return NULL;
    }
    Py_XSETREF(catch_all, Py_NewRef(args[0]));
    filtering_on = filters;
    record_all_on = all;
    Py_XSETREF(lone_unheard, args[3] == Py_None ? NULL : Py_NewRef(args[3]));
    Py_XSETREF(lone_tracer, args[4] == Py_None ? NULL : Py_NewRef(args[4]));
    Py_XSETREF(lone_append, append);   /* steals append */
    Py_XSETREF(lone_options, options); /* steals options */
    Py_XSETREF(lone_seen, seen);       /* steals seen */
    Py_XSETREF(lone_ring, ring);       /* steals ring */
    lone_hides = hides;
    /* the redactors of the tracers of before; last: the names let go may run
     * Python code (a str subclass's __del__) that sends, or starts a tracer (a
     * regroup() within, whose state must not be replaced by this one's after) */
    plans_forget();
    Py_RETURN_NONE;
}

/* ``module.<name>`` (borrowed; NULL with an error if missing). */
static PyObject *
global_in(PyObject *globals, PyObject *name)
{
    PyObject *found = PyDict_GetItemWithError(globals, name);
    if (found == NULL && !PyErr_Occurred()) {
        PyErr_SetObject(PyExc_AttributeError, name);
    }
    return found;
}

/* ``bool(module.<name>)``: 1, 0, or -1 with an error. */
static int
truth_of_global_in(PyObject *globals, PyObject *name)
{
    PyObject *found = global_in(globals, name); /* borrowed */
    return found == NULL ? -1 : PyObject_IsTrue(found);
}

/* ------------------------------------------------------------------ Timed */

/* capture.timed(receivers, marks): the receivers, noting the clock before each
 * is handed out and once at the end.  Holds the iterator and the marks. */
typedef struct {
    PyObject_HEAD
    PyObject *iterator; /* new; NULL once exhausted */
    PyObject *marks;    /* new: the send's clock readings (a Marks or a list) */
} Timed;

static void
timed_dealloc(Timed *self)
{
    Py_XDECREF(self->iterator);
    Py_XDECREF(self->marks);
    PyObject_Free(self);
}

static PyObject *
timed_next(Timed *self)
{
    if (self->iterator == NULL) {
        return NULL; /* exhausted: StopIteration, nothing appended again */
    }
    PyObject *item = PyIter_Next(self->iterator); /* new */
    if (item == NULL) {
        Py_CLEAR(self->iterator); /* a generator is finished after an error too */
        if (PyErr_Occurred()) {
            return NULL;
        }
        (void)append_clock(self->marks); /* the end mark; NULL either way */
        return NULL;
    }
    if (append_clock(self->marks) < 0) {
        Py_DECREF(item);
        return NULL;
    }
    return item;
}

static PyTypeObject Timed_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups.Timed",
    .tp_basicsize = sizeof(Timed),
    .tp_dealloc = (destructor)timed_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "capture.timed() in C.",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)timed_next,
};

static PyObject *
make_timed(PyObject *receivers, PyObject *marks) /* new; marks: a Marks or a list */
{
    PyObject *iterator = PyObject_GetIter(receivers); /* new */
    if (iterator == NULL) {
        return NULL;
    }
    Timed *self = PyObject_New(Timed, &Timed_Type);
    if (self == NULL) {
        Py_DECREF(iterator);
        return NULL;
    }
    self->iterator = iterator;
    self->marks = Py_NewRef(marks);
    return (PyObject *)self;
}

static PyObject *
timed_new(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || marks_count(args[1]) < 0) {
        PyErr_SetString(PyExc_TypeError, "timed(receivers, marks: Marks | list)");
        return NULL;
    }
    return make_timed(args[0], args[1]);
}

/* ------------------------------------------------------- no_receivers */

/* _compat.no_receivers_cached(signal, sender), transcribed: Django already
 * cached that ``sender`` has no receivers (1), or not (0); -1 on error. */
static int
no_receivers_cached(PyObject *cache, PyObject *sender)
{
    PyObject *found;
    if (PyDict_CheckExact(cache)) {
        if (PyDict_GET_SIZE(cache) == 0) {
            return 0;
        }
        found = PyDict_GetItemWithError(cache, sender); /* borrowed */
        if (found == NULL && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                return -1;
            }
            PyErr_Clear();
            return 0;
        }
        return found == no_receivers;
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
    found = PyDict_GetItemWithError(data, key); /* borrowed */
    Py_DECREF(key);
    Py_DECREF(data);
    if (found == NULL && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    return found == no_receivers;
}

/* Django would return [] here: the signal has no receivers for ``sender``.
 * 1 yes, 0 no, -1 error.  (patch._django_sync's first condition.) */
static int
nobody_listens(PyObject *signal, PyObject *sender)
{
    PyObject *receivers = PyObject_GetAttr(signal, s_receivers); /* new */
    if (receivers == NULL) {
        return -1;
    }
    int has = PyObject_IsTrue(receivers);
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

/* --------------------------------------------------------------- SyncSend */

typedef struct {
    PyObject_HEAD
    PyObject *name;     /* "send" / "send_robust" */
    PyObject *original; /* Django's function */
    PyObject *fallback; /* the pure-Python method: calls of another shape go there */
    PyObject *dict;     /* __name__, __qualname__, __doc__, _sigscope_original, … */
    vectorcallfunc vectorcall;
} SyncSend;

/* The keyword arguments Django's receivers get, as the dict ``named`` (new). */
static PyObject *
named_dict(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, Py_ssize_t skip)
{
    PyObject *named = PyDict_New();
    Py_ssize_t count = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; named != NULL && i < count; i++) {
        if (i != skip && PyDict_SetItem(named, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
            Py_CLEAR(named);
        }
    }
    return named;
}

/* A send's keyword arguments as Django's receivers get them: read straight
 * from the vectorcall (``values[i]`` is ``kwnames[i]``'s, ``skip`` the
 * sender's index or -1), the dict ``named`` built only when Python code
 * needs it (named_get()).  From finish(): the dict alone (kwnames NULL). */
typedef struct {
    PyObject *const *values; /* borrowed: the call's keyword values */
    PyObject *kwnames;       /* borrowed, or NULL: the dict is given */
    Py_ssize_t skip;         /* the sender's index in kwnames, or -1 */
    PyObject *dict;          /* new (built here) or borrowed (given); NULL: not yet */
    int owned;               /* dict is new */
} Named;

/* How many keyword arguments the receivers get. */
static inline Py_ssize_t
named_size(const Named *named)
{
    if (named->kwnames == NULL) {
        return named->dict == NULL ? 0 : PyDict_GET_SIZE(named->dict);
    }
    return PyTuple_GET_SIZE(named->kwnames) - (named->skip >= 0);
}

/* The dict ``named`` (borrowed; NULL with an error). */
static PyObject *
named_get(Named *named)
{
    if (named->dict == NULL) {
        named->dict = named_dict(named->values, 0, named->kwnames, named->skip); /* new */
        named->owned = named->dict != NULL;
    }
    return named->dict;
}

static void
named_release(Named *named)
{
    if (named->owned) {
        Py_CLEAR(named->dict);
        named->owned = 0;
    }
}

/* ``id_obj`` (a Send's signal_id) is ``id(obj)``: 1 or 0, never an error
 * (an int that is no address, e.g. too large, is simply another id). */
static int
is_id_of(PyObject *id_obj, PyObject *obj)
{
    if (!PyLong_CheckExact(id_obj)) {
        return 0;
    }
    void *address = PyLong_AsVoidPtr(id_obj);
    if (address == NULL && PyErr_Occurred()) {
        PyErr_Clear(); /* OverflowError: not an address */
        return 0;
    }
    return address == (void *)obj;
}

/* found (borrowed) is a send of ``signal`` begun by an outer method whose
 * receivers are not fetched yet (patch._joins).  1, 0, -1 on error. */
static int
joins(PyObject *found, PyObject *signal)
{
    if (!is_send(found) || SEND(found)->wired) {
        return 0;
    }
    PyObject *signal_id = SEND(found)->signal_id; /* borrowed */
    return signal_id != NULL && is_id_of(signal_id, signal);
}

static int fast_finish(PyObject *send, PyObject *signal, PyObject *sender, Named *named,
                       PyObject *responses);

/* After Django's loop: record the send (record.finish(), inline).  0, or -1
 * with a BaseException pending that must propagate.  Building the dict
 * ``named`` for the Python _finish may fail: a recording error like any other. */
static int
record_send(PyObject *send, PyObject *signal, PyObject *sender, Named *named,
            PyObject *responses)
{
    int fast = fast_finish(send, signal, sender, named, responses);
    PyObject *dict = fast == 0 ? named_get(named) : NULL; /* borrowed */
    PyObject *args[5] = {send, signal, sender, dict, responses};
    PyObject *done = fast == 1      ? Py_NewRef(Py_None)
                     : dict == NULL ? NULL
                                    : PyObject_Vectorcall(finish_fn, args, 5, NULL); /* new */
    if (done != NULL) {
        Py_DECREF(done);
        /* record.release(), inline (Django's loop: never proxied here) */
        Py_XSETREF(SEND(send)->receivers, Py_NewRef(Py_None));
        PyObject *empty = PyTuple_New(0); /* new: the empty tuple singleton */
        if (empty == NULL) {
            return -1;
        }
        Py_XSETREF(SEND(send)->tracers, empty); /* steals empty */
        if (fast == 1) {
            /* fast_finish() recorded it: it now holds only ints, strings, the
             * cached infos, the signal's name holder and the kwargs'
             * descriptions, nothing that can refer back to it, and nothing
             * writes to it again.  The cyclic GC need not walk it (nor its
             * marks) in the ring buffer. */
            PyObject_GC_UnTrack(send);
            if (PyList_CheckExact(SEND(send)->marks)) {
                PyObject_GC_UnTrack(SEND(send)->marks);
            }
        }
        return 0;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1; /* a BaseException inside sigscope: it propagates */
    }
    Raised error;
    raised_fetch(&error);
    PyObject *ok = PyObject_CallFunctionObjArgs(failed_fn, send, error.value, NULL);
    Py_CLEAR(error.type);
    Py_CLEAR(error.value);
    Py_CLEAR(error.traceback);
    if (ok == NULL) {
        return -1;
    }
    Py_DECREF(ok);
    return 0;
}

static int thread_has_parent(void); /* below, with the thread's name (per_thread()) */

/* task.get_name() of an asyncio.Task (new): a str, else "<task>" as capture._task_name. */
static PyObject *
task_get_name(PyObject *task)
{
    PyObject *name = PyObject_CallMethodNoArgs(task, s_get_name); /* new */
    if (name == NULL && !PyErr_ExceptionMatches(PyExc_Exception)) {
        return NULL; /* a BaseException propagates, as from the Python code */
    }
    if (name != NULL && PyUnicode_CheckExact(name)) {
        return name;
    }
    Py_XDECREF(name);
    PyErr_Clear(); /* an Exception: "<task>", as capture._task_name() */
    return PyUnicode_FromString("<task>");
}

/* capture.Send(id(signal), name, tracers, found) (new).  The common case is
 * built here (no parent: no send in progress, no async receiver calls, no
 * marked threads, no running event loop); the class itself builds the rest. */
static PyObject *
new_send(PyObject *signal_id, PyObject *name, PyObject *tracers, PyObject *found)
{
    int quiet = found == Py_None;
    if (quiet) {
        int busy = PyDict_GET_SIZE(task_calls) > 0;
        if (!busy && !threads_marked) { /* capture.threads_marked: once True, it stays True */
            int marked = truth_of_global_in(capture_dict, s_threads_marked);
            if (marked < 0) {
                return NULL;
            }
            threads_marked = marked;
        }
        if (!busy && threads_marked) { /* this thread's sends may be a receiver's children */
            busy = thread_has_parent();
            if (busy < 0) {
                return NULL;
            }
        }
        quiet = !busy;
    }
    PyObject *loop = quiet ? PyObject_CallNoArgs(get_running_loop) : NULL; /* new */
    if (quiet && loop == NULL) {
        return NULL;
    }
    PyObject *task = NULL, *task_name = NULL, *task_key = NULL; /* new */
    if (quiet && loop != Py_None) { /* a loop runs here (a notebook's cell): the send's task */
        task = PyObject_CallNoArgs(current_task_fn); /* asyncio.current_task() */
        /* capture._task_name(task); for asyncio's own Task, its C get_name() directly */
        task_name = task == NULL || task == Py_None      ? Py_XNewRef(task)
                    : (PyObject *)Py_TYPE(task) == task_type ? task_get_name(task)
                                                             : PyObject_CallOneArg(task_name_fn, task);
        task_key = task_name == NULL || task == Py_None ? NULL : PyLong_FromVoidPtr(task);
        if (task_name == NULL || (task != Py_None && task_key == NULL)) {
            Py_XDECREF(task);
            Py_XDECREF(task_name);
            Py_DECREF(loop);
            return NULL;
        }
        Py_DECREF(task); /* only its id is kept, as Send.__init__ does */
        Py_SETREF(loop, Py_NewRef(Py_None));
    }
    if (loop != Py_None) { /* a parent, or a task's receiver call: Send.__init__ finds them */
        Py_XDECREF(loop);
        PyObject *init[4] = {signal_id, name, tracers, found};
        PyObject *send = PyObject_Vectorcall(Send_type, init, 4, NULL); /* new */
        if (send != NULL && !is_send(send)) {
            Py_CLEAR(send);
            PyErr_SetString(PyExc_TypeError, "sigscope._speedups: Send() made another type");
        }
        return send;
    }
    Py_DECREF(loop);
    PyObject *send = send_new((PyTypeObject *)Send_type, NULL, NULL); /* new: the defaults */
    PyObject *id = send == NULL ? NULL : (*Py_TYPE(id_counter)->tp_iternext)(id_counter); /* new: next_id() */
    PyObject *marks = id == NULL ? NULL : marks_new_empty();           /* new */
    if (marks == NULL) {
        Py_XDECREF(id);
        Py_XDECREF(send);
        Py_XDECREF(task_name);
        Py_XDECREF(task_key);
        return NULL;
    }
    SendObject *fields = SEND(send); /* parent: None already (the default) */
    if (task_key != NULL) {
        Py_SETREF(fields->task, task_name); /* steals task_name */
        Py_SETREF(fields->task_key, task_key); /* steals task_key */
    } else {
        Py_XDECREF(task_name); /* None, or NULL: no loop */
    }
    fields->id = id;                 /* steals id */
    fields->signal_id = Py_NewRef(signal_id);
    fields->method = Py_NewRef(name);
    fields->tracers = Py_NewRef(tracers);
    fields->marks = marks; /* steals marks */
    fields->start = clock_ns();
    return send;
}

/* id(signal) (new).  The int objects of the last few addresses are kept: an
 * int's value is the address, whichever object lives there now. */
#define ID_SLOTS 8 /* a power of two */

static PyObject *
address_of(PyObject *signal)
{
    static struct {
        void *address;
        PyObject *id; /* new, or NULL */
    } slots[ID_SLOTS];
    uintptr_t address = (uintptr_t)signal;
    size_t at = (size_t)((address >> 4) & (ID_SLOTS - 1));
    if (slots[at].address == signal && slots[at].id != NULL) {
        return Py_NewRef(slots[at].id);
    }
    PyObject *id = PyLong_FromVoidPtr(signal); /* new */
    if (id != NULL) {
        PyObject *old = slots[at].id;
        slots[at].address = signal;
        slots[at].id = Py_NewRef(id);
        Py_XDECREF(old); /* an int: no code runs */
    }
    return id;
}

/* Call Django's method inside a new traced send.  patch._django_sync's body
 * from ``send = _Send(...)`` on.  Returns the responses (new) or NULL. */
static PyObject *
traced_call(SyncSend *self, PyObject *const *args, size_t nargsf, PyObject *kwnames,
            PyObject *tracers, PyObject *found, PyObject *sender, Py_ssize_t sender_at)
{
    PyObject *signal = args[0];
    PyObject *signal_id = address_of(signal); /* new */
    if (signal_id == NULL) {
        return NULL;
    }
    PyObject *send = new_send(signal_id, self->name, tracers, found); /* new */
    Py_DECREF(signal_id);
    if (send == NULL) {
        return NULL;
    }
    PyObject *token = PyContextVar_Set(current_var, send); /* new */
    if (token == NULL) {
        Py_DECREF(send);
        return NULL;
    }
    PyObject *responses = PyObject_Vectorcall(self->original, args, nargsf, kwnames); /* new */
    Raised app = {NULL, NULL, NULL}; /* the application's exception, set aside */
    Raised own = {NULL, NULL, NULL}; /* sigscope's own BaseException, if any */
    if (responses == NULL) {
        raised_fetch(&app);
        PyObject *captured = PyObject_CallOneArg(safe_capture, app.value); /* new */
        if (captured == NULL) {
            raised_fetch(&own);
        } else {
            Py_XSETREF(SEND(send)->error, captured); /* steals captured */
        }
    }
    if (PyContextVar_Reset(current_var, token) < 0) {
        if (PyErr_ExceptionMatches(PyExc_ValueError) || own.value != NULL) {
            PyErr_Clear(); /* reset from another context: best effort, as in Python */
        } else {
            raised_fetch(&own);
        }
    }
    Py_DECREF(token);
    if (own.value == NULL) { /* record.finish(), inline */
        /* a MemoryError building ``named`` is counted in record_send(), not raised:
         * it used to replace the application's outcome */
        Named named = {args + PyVectorcall_NARGS(nargsf), kwnames, sender_at, NULL, 0};
        if (record_send(send, signal, sender, &named, responses ? responses : Py_None) < 0) {
            raised_fetch(&own);
        }
        named_release(&named);
    }
    if (own.value != NULL) { /* sigscope's own BaseException (or MemoryError) wins */
        raised_replace(&own, &app);
        Py_XDECREF(responses);
        Py_DECREF(send);
        return NULL;
    }
    if (responses == NULL) {
        Py_DECREF(send);
        raised_restore(&app); /* the application's exception, the identical objects */
        return NULL;
    }
    PyObject *async_calls = Py_XNewRef(SEND(send)->async_calls); /* new */
    Py_DECREF(send);
    int some = async_calls == NULL ? 0 : PyObject_IsTrue(async_calls); /* () or a list */
    Py_XDECREF(async_calls);
    if (some != 0) {
        PyObject *unwrapped = some < 0 ? NULL : PyObject_CallOneArg(unwrap_pairs, responses);
        Py_DECREF(responses);
        return unwrapped;
    }
    return responses;
}

/* Where the sender is: 2 positional arguments (-1), or (self, sender=...)
 * (its index in kwnames).  -2: another shape, left to the Python method. */
static Py_ssize_t
find_sender(Py_ssize_t nargs, PyObject *kwnames, PyObject *const *args, PyObject **sender)
{
    Py_ssize_t count = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    Py_ssize_t at = -2;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *kwname = PyTuple_GET_ITEM(kwnames, i);
        /* kwnames are mostly interned; not those of f(**{"sen" + "der": x}): compared
         * then (a str's comparison runs no Python code).  Missing one made
         * send(signal, x, **{that: y}) a traced send that Django's TypeError ended. */
        if (kwname == s_sender ||
            (PyUnicode_Check(kwname) && PyUnicode_GET_LENGTH(kwname) == 6 &&
             PyUnicode_Compare(kwname, s_sender) == 0)) {
            at = i;
        }
    }
    if (nargs == 2 && at == -2) {
        *sender = args[1];
        return -1;
    }
    if (nargs == 1 && at >= 0) {
        *sender = args[1 + at];
        return at;
    }
    return -2;
}

static PyObject *
syncsend_call(SyncSend *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *sender = NULL;
    Py_ssize_t sender_at = nargs >= 1 ? find_sender(nargs, kwnames, args, &sender) : -2;
    if (sender_at == -2 || !configured()) { /* an unusual call: the Python method's errors */
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    PyObject *signal = args[0];
    int nobody = nobody_listens(signal, sender);
    if (nobody < 0) {
        return NULL;
    }
    if (nobody) {
        if (!record_all_on) {
            return count_unheard(signal, sender);
        }
    }
    PyObject *tracers = filtering_on ? PyObject_CallFunctionObjArgs(route_fn, signal, sender, NULL)
                                     : Py_XNewRef(catch_all); /* new */
    if (tracers == NULL) {
        return PyErr_Occurred() ? NULL : PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    }
    int some = PyObject_IsTrue(tracers);
    PyObject *found = NULL;
    if (some > 0 && PyContextVar_Get(current_var, Py_None, &found) < 0) {
        some = -1;
    }
    int join = some > 0 ? joins(found, signal) : 0;
    PyObject *result = NULL;
    if (some < 0 || join < 0) {
        result = NULL;
    } else if (!some) {
        result = PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    } else if (join) { /* a subclass's send delegating to Django's loop */
        SEND(found)->proxied = 0; /* joins(): found is a send */
        result = PyObject_Vectorcall(self->original, args, nargsf, kwnames);
    } else {
        result = traced_call(self, args, nargsf, kwnames, tracers, found, sender, sender_at);
    }
    Py_XDECREF(found);
    Py_DECREF(tracers);
    return result;
}

static PyObject *
syncsend_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return syncsend_call((SyncSend *)self, args, nargsf, kwnames);
}

/* 1 when ``kwargs`` is empty, else 0 with a TypeError (public API only). */
static int
no_keywords(const char *name, PyObject *kwargs)
{
    if (kwargs == NULL || (PyDict_Check(kwargs) && PyDict_GET_SIZE(kwargs) == 0)) {
        return 1;
    }
    PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", name);
    return 0;
}

/* A new SyncSend-layout object (all arguments borrowed; each field takes a reference). */
static PyObject *
syncsend_alloc(PyTypeObject *type, PyObject *name, PyObject *original, PyObject *fallback,
               vectorcallfunc call)
{
    SyncSend *self = (SyncSend *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->name = Py_NewRef(name);
    self->original = Py_NewRef(original);
    self->fallback = Py_NewRef(fallback);
    self->dict = NULL;
    self->vectorcall = call;
    return (PyObject *)self;
}

static PyObject *
syncsend_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *name, *original, *fallback;
    if (!no_keywords("SyncSend", kwargs) ||
        !PyArg_ParseTuple(args, "UOO:SyncSend", &name, &original, &fallback)) {
        return NULL;
    }
    return syncsend_alloc(type, name, original, fallback, syncsend_vectorcall);
}

/* Bound like a function: Signal.send -> itself, signal.send -> a method. */
static PyObject *
syncsend_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static int
syncsend_traverse(SyncSend *self, visitproc visit, void *arg)
{
    Py_VISIT(self->original);
    Py_VISIT(self->fallback);
    Py_VISIT(self->dict);
    return 0;
}

static int
syncsend_clear(SyncSend *self)
{
    Py_CLEAR(self->original);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->dict);
    return 0;
}

static void
syncsend_dealloc(SyncSend *self)
{
    PyObject_GC_UnTrack(self);
    syncsend_clear(self);
    Py_CLEAR(self->name);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The type of a C callable with SyncSend's layout that binds like a function
 * (SyncSend and LiveReceivers differ only in name, doc and constructor). */
#define SYNCSEND_LIKE_TYPE(type_name, doc, constructor)                                           \
    {                                                                                             \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups." type_name,         \
        .tp_basicsize = sizeof(SyncSend), .tp_dealloc = (destructor)syncsend_dealloc,             \
        .tp_vectorcall_offset = offsetof(SyncSend, vectorcall), .tp_call = PyVectorcall_Call,     \
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |        \
                    Py_TPFLAGS_METHOD_DESCRIPTOR,                                                 \
        .tp_doc = doc, .tp_traverse = (traverseproc)syncsend_traverse,                            \
        .tp_clear = (inquiry)syncsend_clear, .tp_descr_get = syncsend_get,                        \
        .tp_dictoffset = offsetof(SyncSend, dict), .tp_getattro = PyObject_GenericGetAttr,        \
        .tp_setattro = PyObject_GenericSetAttr, .tp_new = constructor,                            \
    }

static PyTypeObject SyncSend_Type = SYNCSEND_LIKE_TYPE(
    "SyncSend", "patch._django_sync()'s method in C: SyncSend(name, original, fallback).",
    syncsend_new);


/* ---------------------------------------------------------- LiveReceivers */

/* patch._live_receivers_wrapper()'s ``_live_receivers`` in C, the same layout
 * as SyncSend (``name`` unused).  Django's send/send_robust fetch the
 * receivers through it: for the send in progress it hands back the sync
 * receivers timed (the common case here; the others go to patch._wire). */
static PyObject *wire_fn;   /* patch._wire */
static int has_async = 1;   /* patch._HAS_ASYNC: _live_receivers returns (sync, async) */
static PyObject *s_live;    /* "_live_receivers" */

/* The send in progress that this fetch belongs to, new (or NULL: none;
 * NULL with an error: an error). */
static PyObject *
fetching_send(PyObject *self, PyObject *signal, PyObject *var, PyObject *send_type)
{
    PyObject *send = NULL;
    if (PyContextVar_Get(var, Py_None, &send) < 0) {
        return NULL;
    }
    /* send_type: this interpreter's capture.CSend (a subclass of Send_Type) */
    int ours = (PyObject *)Py_TYPE(send) == send_type && PyObject_TypeCheck(send, &Send_Type);
    if (ours) {
        PyObject *signal_id = SEND(send)->signal_id; /* borrowed */
        ours = signal_id != NULL && is_id_of(signal_id, signal);
    }
    if (ours) { /* not e.g. has_listeners() inside a receiver */
        ours = !SEND(send)->wired || SEND(send)->proxied;
    }
    if (ours) { /* a subclass's override calling super(): it is the outermost */
        PyTypeObject *cls = Py_TYPE(signal);
        if (Py_TYPE(cls) == &PyType_Type) { /* type(signal)._live_receivers, no metaclass */
            ours = _PyType_Lookup(cls, s_live) == self; /* borrowed; a class dict's value */
        } else {
            PyObject *outer = PyObject_GetAttr((PyObject *)cls, s_live); /* new */
            ours = outer == self;
            Py_XDECREF(outer);
        }
    }
    if (!ours) {
        Py_CLEAR(send);
    }
    return send;
}

/* The common case inline: send.wired = True, .receivers = sync, .n = len(sync);
 * returns (timed(sync, send.marks), asynchronous) (new). */
static PyObject *
wire_sync(PyObject *send, PyObject *sync, PyObject *asynchronous)
{
    Py_ssize_t n = PyObject_Size(sync);
    PyObject *marks = SEND(send)->marks; /* borrowed */
    PyObject *timed = NULL;
    if (n >= 0 && marks_count(marks) >= 0) {
        SEND(send)->wired = 1;
        Py_XSETREF(SEND(send)->receivers, Py_NewRef(sync));
        SEND(send)->n = n;
        timed = make_timed(sync, marks); /* new */
    } else if (n >= 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "sigscope._speedups: send.marks is not a list of readings");
    }
    PyObject *pair = timed == NULL ? NULL : PyTuple_Pack(2, timed, asynchronous);
    Py_XDECREF(timed);
    return pair;
}

/* live_vectorcall() where configure() was another interpreter's: the
 * Python wrapper (``fallback``) cannot be used, it hands back timed receivers
 * only when it is the class's own ``_live_receivers`` (this object is), so
 * the same steps with this interpreter's patch module, all cases by _wire(). */
static PyObject *
live_unconfigured(SyncSend *self, PyObject *const *args, size_t nargsf)
{
    PyObject *patch = PyImport_ImportModule("sigscope.tracing.patch"); /* new */
    PyObject *var = patch == NULL ? NULL : PyObject_GetAttrString(patch, "_current");
    PyObject *type = var == NULL ? NULL : PyObject_GetAttrString(patch, "_Send");
    PyObject *wire = type == NULL ? NULL : PyObject_GetAttrString(patch, "_wire");
    Py_XDECREF(patch);
    PyObject *result = wire == NULL ? NULL : PyObject_Vectorcall(self->original, args, nargsf, NULL);
    PyObject *send = result == NULL || !PyContextVar_CheckExact(var)
                         ? NULL
                         : fetching_send((PyObject *)self, args[0], var, type); /* new */
    if (send != NULL) {
        Py_SETREF(result, PyObject_CallFunctionObjArgs(wire, send, result, NULL));
        Py_DECREF(send);
    } else if (PyErr_Occurred()) {
        Py_CLEAR(result);
    }
    Py_XDECREF(var);
    Py_XDECREF(type);
    Py_XDECREF(wire);
    return result;
}

static PyObject *
live_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SyncSend *self = (SyncSend *)callable;
    if (PyVectorcall_NARGS(nargsf) != 2 || kwnames != NULL) {
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    if (!configured() || wire_fn == NULL) {
        return live_unconfigured(self, args, nargsf);
    }
    PyObject *result = PyObject_Vectorcall(self->original, args, nargsf, NULL); /* new */
    PyObject *send =
        result == NULL ? NULL : fetching_send(callable, args[0], current_var, Send_type); /* new */
    if (send == NULL) {
        if (PyErr_Occurred()) {
            Py_CLEAR(result);
        }
        return result;
    }
    PyObject *method = SEND(send)->method; /* borrowed; fetching_send(): a send */
    int common = !SEND(send)->proxied && method != NULL && PyUnicode_Check(method) &&
                 PyUnicode_GET_LENGTH(method) > 0 && PyUnicode_READ_CHAR(method, 0) != 'a' &&
                 has_async && PyTuple_CheckExact(result) && PyTuple_GET_SIZE(result) == 2;
    int asynchronous = common ? PyObject_IsTrue(PyTuple_GET_ITEM(result, 1)) : 1;
    PyObject *out = NULL;
    if (PyErr_Occurred() || asynchronous < 0) {
        out = NULL;
    } else if (asynchronous) {
        out = PyObject_CallFunctionObjArgs(wire_fn, send, result, NULL);
    } else {
        out = wire_sync(send, PyTuple_GET_ITEM(result, 0), PyTuple_GET_ITEM(result, 1));
    }
    Py_DECREF(send);
    Py_DECREF(result);
    return out;
}

static PyObject *
live_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *original, *fallback;
    if (!no_keywords("LiveReceivers", kwargs) ||
        !PyArg_ParseTuple(args, "OO:LiveReceivers", &original, &fallback)) {
        return NULL;
    }
    return syncsend_alloc(type, s_live, original, fallback, live_vectorcall);
}

static PyTypeObject Live_Type = SYNCSEND_LIKE_TYPE(
    "LiveReceivers",
    "patch._live_receivers_wrapper()'s function in C: LiveReceivers(original, fallback).",
    live_new);

/* ---------------------------------------------------------------- kwargs */

/* ``cache.get(id(key))`` of a dict cache keyed by id (borrowed or NULL; NULL
 * with an error only on a real error). */
static PyObject *
by_id(PyObject *cache, PyObject *key)
{
    PyObject *address = PyLong_FromVoidPtr(key); /* new */
    if (address == NULL) {
        return NULL;
    }
    PyObject *found = PyDict_CheckExact(cache) ? PyDict_GetItemWithError(cache, address) : NULL;
    Py_DECREF(address);
    return found;
}

/* ``ref() is expected`` for a weak reference ``ref`` (1, 0, -1 on error). */
static int
refers_to(PyObject *ref, PyObject *expected)
{
    PyObject *alive = PyObject_CallNoArgs(ref); /* new: a weakref's call runs no user code */
    if (alive == NULL) {
        return -1;
    }
    int same = alive == expected;
    Py_DECREF(alive);
    return same;
}

/* ``ref`` (a weakref.ref) refers to ``expected``, read without calling it
 * (1 or 0, never an error).  Not an exact weakref.ref: 0. */
static int
ref_is(PyObject *ref, PyObject *expected)
{
    if (!PyWeakref_CheckRefExact(ref)) {
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *alive = NULL; /* new */
    if (PyWeakref_GetRef(ref, &alive) < 0) {
        PyErr_Clear();
        return 0;
    }
    int same = alive == expected;
    Py_XDECREF(alive);
    return same;
#else
    return PyWeakref_GET_OBJECT(ref) == expected;
#endif
}

/* The model classes described last: values._models' entry for each (its
 * (weak reference, label, attname) tuple, a strong reference: the entry
 * Python made, whose weak reference tells whether the address is still that
 * class's) and the text "<label pk=" made from it, so the common instance
 * costs no lookup.  The label and attname of a class never change
 * (values._model_instance reads them once per class). */
#define MODEL_SLOTS 8 /* a power of two */

typedef struct {
    PyObject *type;   /* not owned: compared by address, checked by entry's weakref */
    PyObject *entry;  /* new, or NULL */
    PyObject *prefix; /* new: "<label pk=", or NULL */
} ModelSlot;

static ModelSlot model_slots[MODEL_SLOTS];

static void
models_forget(void)
{
    for (Py_ssize_t i = 0; i < MODEL_SLOTS; i++) {
        PyObject *entry = model_slots[i].entry, *prefix = model_slots[i].prefix;
        model_slots[i].type = model_slots[i].entry = model_slots[i].prefix = NULL;
        Py_XDECREF(entry);
        Py_XDECREF(prefix);
    }
}

/* ``cls``'s slot, made from values._models when it has cls (borrowed); NULL
 * without an error: not cached (the Python code decides); with one: an error. */
static ModelSlot *
model_slot(PyTypeObject *cls)
{
    ModelSlot *slot = &model_slots[((uintptr_t)cls >> 4) & (MODEL_SLOTS - 1)];
    if (slot->type == (PyObject *)cls && ref_is(PyTuple_GET_ITEM(slot->entry, 0), slot->type)) {
        return slot;
    }
    PyObject *models = global_in(values_dict, s_models); /* borrowed */
    /* new: label and attname are used after calls (a class's own __dict__
     * descriptor would be Python code that may change the cache) */
    PyObject *cached = models == NULL ? NULL : Py_XNewRef(by_id(models, (PyObject *)cls));
    if (cached == NULL || !PyTuple_CheckExact(cached) || PyTuple_GET_SIZE(cached) != 3) {
        Py_XDECREF(cached);
        return NULL;
    }
    PyObject *label = PyTuple_GET_ITEM(cached, 1);
    if (!PyUnicode_CheckExact(label) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(cached, 2)) ||
        !ref_is(PyTuple_GET_ITEM(cached, 0), (PyObject *)cls)) {
        Py_DECREF(cached);
        return NULL;
    }
    PyObject *prefix = PyUnicode_FromFormat("<%U pk=", label); /* new */
    if (prefix == NULL) {
        Py_DECREF(cached);
        return NULL;
    }
    PyObject *old_entry = slot->entry, *old_prefix = slot->prefix;
    slot->type = (PyObject *)cls;
    slot->entry = cached;  /* steals cached */
    slot->prefix = prefix; /* steals prefix */
    Py_XDECREF(old_entry); /* a tuple of a weakref and two str: no user code */
    Py_XDECREF(old_prefix);
    return slot;
}

/* The offset of the slot ``name`` of ``cls`` (an object slot of exactly that
 * class: its member descriptor), or 0 if it is not one. */
static Py_ssize_t
slot_offset(PyObject *cls, const char *name)
{
    PyObject *descr = PyObject_GetAttrString(cls, name); /* new: our own class's attribute */
    Py_ssize_t offset = 0;
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDescrObject *member = (PyMemberDescrObject *)descr;
        if (PyDescr_TYPE(member) == (PyTypeObject *)cls && member->d_member->type == T_OBJECT_EX &&
            !(member->d_member->flags & READONLY)) {
            offset = member->d_member->offset;
        }
    }
    Py_XDECREF(descr);
    PyErr_Clear(); /* no such slot: 0, the class is called instead */
    return offset;
}

/* A class of values.py whose instances the C path makes by writing their
 * object slots directly (its __init__ only assigns them): the offsets of the
 * slots, read from the class's member descriptors the first time it is seen. */
#define SLOTS_MAX 3

typedef struct {
    PyObject *known;               /* new: the class the offsets are of (kept alive) */
    Py_ssize_t offsets[SLOTS_MAX]; /* 0: not such a slot (the class is called instead) */
} SlotsClass;

/* A new ``cls(*values)`` (all borrowed), its slots ``names`` written directly when
 * its layout is the known one; else the class is called.  ``untrack``: the
 * instance holds only str/int objects (no cycle through it), so the cyclic
 * GC need not walk it in the ring buffer. */
static PyObject *
make_slots(SlotsClass *layout, PyObject *cls_obj, const char *const *names, PyObject **values,
           int n, int untrack)
{
    if (layout->known != cls_obj) {
        Py_XSETREF(layout->known, Py_NewRef(cls_obj));
        for (int i = 0; i < n; i++) {
            layout->offsets[i] = slot_offset(cls_obj, names[i]);
        }
    }
    PyTypeObject *cls = (PyTypeObject *)cls_obj;
    int direct = cls->tp_new == PyBaseObject_Type.tp_new;
    for (int i = 0; i < n; i++) {
        direct = direct && layout->offsets[i] != 0;
    }
    if (!direct) {
        return PyObject_Vectorcall(cls_obj, values, (size_t)n, NULL);
    }
    PyObject *kept = cls->tp_alloc(cls, 0); /* new: the slots NULL */
    if (kept != NULL) {
        for (int i = 0; i < n; i++) {
            *(PyObject **)((char *)kept + layout->offsets[i]) = Py_NewRef(values[i]);
        }
        if (untrack && PyObject_IS_GC(kept)) {
            PyObject_GC_UnTrack(kept);
        }
    }
    return kept;
}

/* The length of repr(number) (an int that fits a long long). */
static Py_ssize_t
decimal_length(long long number)
{
    unsigned long long rest =
        number < 0 ? 0ULL - (unsigned long long)number : (unsigned long long)number;
    Py_ssize_t length = number < 0 ? 2 : 1;
    while (rest >= 10) {
        rest /= 10;
        length++;
    }
    return length;
}

static SlotsClass model_pk_layout; /* values.ModelPk's (the ring reads the slots too) */

/* A new values.ModelPk(prefix, pk) (both borrowed): "<label pk=N>" when read. */
static PyObject *
make_model_pk(PyObject *prefix, PyObject *pk)
{
    static const char *const names[] = {"prefix", "pk"};
    PyObject *values[2] = {prefix, pk};
    return make_slots(&model_pk_layout, model_pk_type, names, values, 2, 1);
}

/* values._model_text() for an instance of a model class values.describe() has
 * already cached, with an int pk (fitting a long long) and a short label: a
 * values.ModelPk (new), the same text when read (nothing is formatted
 * during the send).  NULL without an error: not that case (the Python code
 * decides); with one: a BaseException to propagate. */
static PyObject *
model_text(PyObject *value, PyObject *reprs)
{
    if (reprs != s_safe && (!PyUnicode_CheckExact(reprs) || PyUnicode_Compare(reprs, s_full) == 0)) {
        return NULL; /* reprs="full": full_repr(), in Python */
    }
    ModelSlot *slot = model_slot(Py_TYPE(value)); /* borrowed */
    if (slot == NULL) {
        return NULL;
    }
    /* new, all: Python code may run below and reuse the slot */
    PyObject *attname = Py_NewRef(PyTuple_GET_ITEM(slot->entry, 2));
    PyObject *prefix = Py_NewRef(slot->prefix);
    /* object.__getattribute__(value, "__dict__"), as values._instance_dict() */
    PyObject *state = PyObject_GenericGetAttr(value, s_dict); /* new */
    PyObject *kept = NULL;
    PyObject *pk = state != NULL && PyDict_CheckExact(state)
                       ? PyDict_GetItemWithError(state, attname) /* borrowed; a str key */
                       : NULL;
    if (pk != NULL && PyLong_CheckExact(pk)) {
        int overflow = 0;
        long long number = PyLong_AsLongLongAndOverflow(pk, &overflow);
        /* the text's length ("<label pk=", N, ">"): longer ones are values._clip()'s */
        if (!overflow &&
            PyUnicode_GET_LENGTH(prefix) + decimal_length(number) + 1 <= limit) {
            kept = make_model_pk(prefix, pk);
        }
    }
    Py_XDECREF(state);
    Py_DECREF(attname);
    Py_DECREF(prefix);
    return kept;
}

/* A new values.StrDict(items, length, hidden) (all borrowed). */
static PyObject *
make_str_dict(PyObject *items, PyObject *length, PyObject *hidden)
{
    static SlotsClass layout;
    static const char *const names[] = {"items", "length", "hidden"};
    PyObject *values[3] = {items, length, hidden};
    return make_slots(&layout, str_dict_type, names, values, 3, 0);
}

/* values.str_dict(value, hidden) for a dict whose first ITEMS items are all
 * str to str (a WSGI environ): values.StrDict((k0, v0, k1, v1, ...), len,
 * hidden), new.  NULL without an error: another dict (the Python code
 * describes it). */
static PyObject *
str_dict(PyObject *value, PyObject *hidden, PyObject *reprs)
{
    Py_ssize_t size = PyDict_GET_SIZE(value);
    if (!PyUnicode_CheckExact(reprs) || PyUnicode_Compare(reprs, s_full) == 0 || size == 0 ||
        str_dict_type == NULL) {
        return NULL;
    }
    Py_ssize_t taken = size < items_limit ? size : items_limit;
    /* new: the allocations below may run the GC, whose finalizers may stop a
     * tracer and free what ``hidden`` was borrowed from */
    hidden = Py_NewRef(hidden);
    PyObject *items = PyTuple_New(2 * taken); /* new */
    Py_ssize_t pos = 0, at = 0;
    PyObject *key, *item; /* borrowed; exact str: reading them runs no code */
    while (items != NULL && at < 2 * taken && PyDict_Next(value, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(item)) {
            Py_CLEAR(items); /* not all str: no error set */
            break;
        }
        PyTuple_SET_ITEM(items, at++, Py_NewRef(key));
        PyTuple_SET_ITEM(items, at++, Py_NewRef(item));
    }
    PyObject *length = items == NULL ? NULL : PyLong_FromSsize_t(size);
    PyObject *kept = length == NULL ? NULL : make_str_dict(items, length, hidden);
    Py_XDECREF(items);
    Py_XDECREF(length);
    Py_DECREF(hidden);
    return kept;
}

/* record._value(value, type(value), hidden, reprs) (new). */
static PyObject *
value_of(PyObject *value, PyObject *hidden, PyObject *reprs)
{
    if (PyDict_CheckExact(value)) {
        PyObject *kept = str_dict(value, hidden, reprs);
        if (kept != NULL || PyErr_Occurred()) {
            return kept;
        }
    }
    PyObject *kept = model_text(value, reprs); /* new: a values.ModelPk */
    if (kept != NULL) {
        return kept;
    }
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return NULL;
        }
        PyErr_Clear(); /* the Python code meets the same case and handles it */
    }
    PyObject *call[4] = {value, (PyObject *)Py_TYPE(value), hidden, reprs};
    return PyObject_Vectorcall(value_fn, call, 4, NULL);
}

/* An atom (record.atom): None, bool, int, or a str of at most LIMIT chars. */
static inline int
is_atom(PyObject *value)
{
    PyTypeObject *cls = Py_TYPE(value);
    return value == Py_None || cls == &PyBool_Type || cls == &PyLong_Type ||
           (cls == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) <= limit);
}

/* A keyword argument's value as record._kwargs keeps it (new): an atom as it
 * is, else described (owned across value_of(): it may run Python code). */
static PyObject *
kwarg_value(PyObject *value, PyObject *hidden, PyObject *reprs)
{
    if (is_atom(value)) {
        return Py_NewRef(value);
    }
    Py_INCREF(value);
    PyObject *shown = value_of(value, hidden, reprs); /* new */
    Py_DECREF(value);
    return shown;
}

/* ``(name, value)`` as record._kwargs keeps it (new). */
static PyObject *
kwarg_pair(PyObject *name, PyObject *value, PyObject *hidden, PyObject *reprs)
{
    Py_INCREF(name);
    PyObject *shown = kwarg_value(value, hidden, reprs);                  /* new */
    PyObject *pair = shown == NULL ? NULL : PyTuple_Pack(2, name, shown); /* new */
    Py_DECREF(name);
    Py_XDECREF(shown);
    return pair;
}

/* record._kwargs(named, redactor, reprs): the tuple of (name, value) pairs
 * (new).  The common case (no name hidden) is done here; when a name may be
 * hidden, or the redactor has no plan yet for these names, record._kwargs
 * itself decides. */
static PyObject *
kwargs_of(PyObject *named, PyObject *redactor, PyObject *reprs)
{
    PyObject *hidden = Py_None;
    PyObject *enabled = PyObject_GetAttr(redactor, s_enabled); /* new */
    int on = enabled == NULL ? -1 : PyObject_IsTrue(enabled);
    Py_XDECREF(enabled);
    if (on < 0) {
        return NULL;
    }
    if (on) {
        PyObject *plans = PyObject_GetAttr(redactor, s_plans); /* new */
        if (plans == NULL) {
            return NULL;
        }
        PyObject *key = PyTuple_New(PyDict_GET_SIZE(named)); /* new: tuple(named) */
        Py_ssize_t at = 0, index = 0;
        PyObject *name, *value; /* borrowed */
        while (key != NULL && PyDict_Next(named, &at, &name, &value)) {
            PyTuple_SET_ITEM(key, index++, Py_NewRef(name));
        }
        PyObject *plan = NULL; /* borrowed */
        if (key != NULL && PyDict_CheckExact(plans)) {
            plan = PyDict_GetItemWithError(plans, key);
        }
        Py_XDECREF(key);
        Py_DECREF(plans);
        if (plan == NULL || plan != Py_False) { /* unknown or hiding: Python decides */
            PyObject *call[3] = {named, redactor, reprs};
            return PyErr_Occurred() ? NULL : PyObject_Vectorcall(kwargs_fn, call, 3, NULL);
        }
        hidden = redactor;
    }
    Py_ssize_t size = PyDict_GET_SIZE(named);
    PyObject *out = PyTuple_New(size); /* new */
    Py_ssize_t pos = 0, index = 0;
    PyObject *name, *value; /* borrowed from named */
    while (out != NULL && PyDict_Next(named, &pos, &name, &value)) {
        PyObject *pair = kwarg_pair(name, value, hidden, reprs); /* new */
        if (pair != NULL && (index >= size || PyDict_GET_SIZE(named) != size)) {
            /* a description changed the dict: what Python's iteration raises, and
             * no write past the tuple's end nor a NULL item left in it */
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            Py_CLEAR(pair);
        }
        if (pair == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, index++, pair); /* steals pair */
    }
    return out;
}

/* Per call site: its kwnames tuple (a code constant, so the same object every
 * call; a dynamic one, e.g. f(**d), is new each call and simply misses), the
 * names its receivers get (``tuple(named)``: kwnames without the sender's,
 * kept with the values in the ring buffer), and the redactor known to hide
 * none of them (or NULL), all strong references, so no address is reused
 * while cached.  That redactor is remembered once ``redactor.plans[names]``
 * is False (record._kwargs's Python code decided it; a plan, once made, never
 * changes: it derives from the redactor's per-name decisions, cached for
 * good).  Cleared by regroup(). */
#define SITE_SLOTS 32 /* a power of two */

typedef struct {
    PyObject *kwnames, *names, *redactor; /* new, or NULL */
    Py_ssize_t skip;                      /* the sender's index in kwnames, or -1 */
} SiteSlot;

static SiteSlot site_slots[SITE_SLOTS];

static void
site_clear(SiteSlot *slot)
{
    PyObject *kwnames = slot->kwnames, *names = slot->names, *redactor = slot->redactor;
    slot->kwnames = slot->names = slot->redactor = NULL; /* before any dealloc runs */
    Py_XDECREF(kwnames);
    Py_XDECREF(names);
    Py_XDECREF(redactor);
}

static void
plans_forget(void)
{
    for (Py_ssize_t i = 0; i < SITE_SLOTS; i++) {
        site_clear(&site_slots[i]);
    }
}

/* The call site's slot, its names filled in (borrowed; NULL with an error). */
static SiteSlot *
site_of(Named *named)
{
    uintptr_t mixed = (uintptr_t)named->kwnames >> 4;
    SiteSlot *slot = &site_slots[(mixed ^ (mixed >> 5)) & (SITE_SLOTS - 1)];
    if (slot->kwnames == named->kwnames && slot->skip == named->skip) {
        return slot;
    }
    Py_ssize_t size = named_size(named);
    PyObject *names = named->skip < 0 ? Py_NewRef(named->kwnames) : PyTuple_New(size); /* new */
    for (Py_ssize_t i = 0, at = 0; names != NULL && named->skip >= 0 && at < size; i++) {
        if (i != named->skip) {
            PyTuple_SET_ITEM(names, at++, Py_NewRef(PyTuple_GET_ITEM(named->kwnames, i)));
        }
    }
    if (names == NULL) {
        return NULL;
    }
    do { /* the names of before may die: a str subclass's __del__ (Python code) may send,
          * refilling the slot, redactor included, which would be kept with these names */
        site_clear(slot);
    } while (slot->kwnames != NULL || slot->redactor != NULL);
    slot->kwnames = Py_NewRef(named->kwnames);
    slot->names = names; /* steals names */
    slot->skip = named->skip;
    return slot;
}

/* ``redactor.plans.get(names)`` is False: 1; 0 not (unknown, or some name
 * hidden: the Python code decides); -1 on error.  ``names`` (borrowed, owned
 * by the caller) is the slot's: the lookup hashes and compares them, Python
 * code for a str subclass's (f(**{Key("a"): 1})), which may clear the slot. */
static int
hides_none(SiteSlot *site, PyObject *names, PyObject *redactor)
{
    if (site->redactor == redactor) {
        return 1;
    }
    PyObject *plans = PyObject_GetAttr(redactor, s_plans); /* new */
    PyObject *plan = NULL;                                 /* new */
    if (plans != NULL && PyDict_CheckExact(plans)) {
        plan = Py_XNewRef(PyDict_GetItemWithError(plans, names));
    }
    Py_XDECREF(plans);
    int none = plan == Py_False;
    Py_XDECREF(plan);
    if (none && site->names == names) {
        PyObject *old = site->redactor;
        site->redactor = Py_NewRef(redactor);
        Py_XDECREF(old);
    }
    return PyErr_Occurred() ? -1 : none;
}

/* kwargs_of() for a send's keyword arguments read from the call itself (new):
 * the values as kept, their names in ``*names`` (new).  Or, when the Python
 * record._kwargs decides (a name may be hidden, or no plan yet; the dict
 * ``named`` is built for it), its (name, value) pairs, ``*names`` NULL. */
static PyObject *
kwargs_from_call(Named *named, PyObject *redactor, int on, PyObject *reprs, PyObject **names)
{
    *names = NULL;
    PyObject *hidden = Py_None;
    SiteSlot *site = site_of(named); /* borrowed */
    /* new, taken at once: hides_none() and value_of() may run Python code that
     * reuses or clears the slot */
    PyObject *kept_names = site == NULL ? NULL : Py_NewRef(site->names);
    int none = site == NULL ? -1 : on > 0 ? hides_none(site, kept_names, redactor) : 1;
    if (none <= 0) {
        Py_XDECREF(kept_names);
        PyObject *dict = none < 0 ? NULL : named_get(named); /* borrowed */
        PyObject *call[3] = {dict, redactor, reprs};
        return dict == NULL ? NULL : PyObject_Vectorcall(kwargs_fn, call, 3, NULL);
    }
    if (on) {
        hidden = redactor;
    }
    Py_ssize_t size = named_size(named), count = PyTuple_GET_SIZE(named->kwnames);
    PyObject *out = PyTuple_New(size); /* new */
    for (Py_ssize_t i = 0, at = 0; out != NULL && i < count; i++) {
        if (i == named->skip) {
            continue;
        }
        /* borrowed: the call's arguments live until it returns */
        PyObject *kept = kwarg_value(named->values[i], hidden, reprs); /* new */
        if (kept == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, at++, kept); /* steals kept */
    }
    if (out == NULL) {
        Py_DECREF(kept_names);
        return NULL;
    }
    *names = kept_names;
    return out;
}

/* sigscope.tracing.record.<name>(*args) of this interpreter: where the C
 * path is not configured (a sub-interpreter, see configured()). */
static PyObject *
pure_call(const char *name, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *module = PyImport_ImportModule("sigscope.tracing.record"); /* new */
    PyObject *function = module == NULL ? NULL : PyObject_GetAttrString(module, name);
    Py_XDECREF(module);
    PyObject *result = function == NULL ? NULL : PyObject_Vectorcall(function, args, nargs, NULL);
    Py_XDECREF(function);
    return result;
}

static PyObject *
kwargs_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyDict_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "kwargs(named: dict, redactor, reprs)");
        return NULL;
    }
    if (!configured()) {
        return pure_call("_kwargs", args, nargs);
    }
    return kwargs_of(args[0], args[1], args[2]);
}


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

/* ----------------------------------------------------------------- module */

/* ``globals[name]``, borrowed; NULL with an error (KeyError-free: RuntimeError
 * naming what is missing), not PyDict_GetItemString, which swallows errors. */
static PyObject *
lookup(PyObject *globals, const char *name)
{
    if (PyErr_Occurred()) {
        return NULL; /* an earlier lookup failed: report that one */
    }
    PyObject *key = PyUnicode_FromString(name); /* new */
    PyObject *found = key == NULL ? NULL : PyDict_GetItemWithError(globals, key);
    Py_XDECREF(key);
    if (found == NULL && !PyErr_Occurred()) {
        PyErr_Format(PyExc_RuntimeError, "sigscope._speedups: %s is missing", name);
    }
    return found;
}

/* Every reference configure() keeps, so they are set and released together. */
static PyObject **const kept[] = {
    &Send_type, &current_var, &safe_capture, &unwrap_pairs, &record_dict, &route_fn,
    &unheard_fn, &finish_fn, &failed_fn, &value_fn, &kwargs_fn, &no_receivers, &limit_obj,
    &next_id, &capture_dict, &names_dict, &values_dict, &get_running_loop,
    &str_dict_type, &wire_fn, &no_calls, &task_calls, &by_ids, &signal_names, &sender_labels,
    &thread_name_fn, &id_counter, &model_pk_type, &thread_parent_fn, &current_task_fn,
    &task_name_fn, &task_type,
};
#define N_KEPT ((Py_ssize_t)(sizeof(kept) / sizeof(kept[0])))

static void
release_config(void)
{
    for (Py_ssize_t i = 0; i < N_KEPT; i++) {
        Py_CLEAR(*kept[i]);
    }
    Py_CLEAR(catch_all); /* and what regroup() last pushed */
    Py_CLEAR(lone_unheard);
    Py_CLEAR(lone_tracer);
    Py_CLEAR(lone_append);
    Py_CLEAR(lone_options);
    Py_CLEAR(lone_seen);
    Py_CLEAR(lone_ring);
    for (Py_ssize_t i = 0; i < UNHEARD_SLOTS; i++) {
        (void)unheard_settle(&unheard_slots[i], NULL); /* dropped, not added: shutdown */
    }
    Py_CLEAR(table_counts);
    plans_forget();
    models_forget();
    name_slots_forget(signal_slots);
    name_slots_forget(sender_slots);
    sequence_slots_forget();
    filtering_on = record_all_on = 0;
    configured_in = -1;
}

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *names[] = {"capture", "record", "names", "values", "no_receivers",
                            "get_running_loop", "wire", "has_async", NULL};
    PyObject *capture_module, *record, *names_module, *values_module, *nothing, *loop, *wire;
    int asynchronous;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OOOOOOOp:configure", names, &capture_module,
                                     &record, &names_module, &values_module, &nothing, &loop,
                                     &wire, &asynchronous)) {
        return NULL;
    }
    if (Send_type != NULL && configured_in != this_interpreter()) {
        Py_RETURN_NONE; /* another interpreter's: left alone, the pure path runs here */
    }
    PyObject *cap = PyModule_GetDict(capture_module); /* borrowed, all of them */
    PyObject *globals = cap == NULL ? NULL : PyModule_GetDict(record);
    PyObject *names_globals = globals == NULL ? NULL : PyModule_GetDict(names_module);
    PyObject *values_globals = names_globals == NULL ? NULL : PyModule_GetDict(values_module);
    if (values_globals == NULL) {
        return NULL;
    }
    /* Look everything up first: a failure leaves the previous configuration whole. */
    PyObject *ids = lookup(cap, "next_id");
    PyObject *counter = ids == NULL ? NULL : PyObject_GetAttrString(ids, "__self__"); /* new */
    if (counter == NULL) {
        return NULL;
    }
    PyObject *found[N_KEPT] = {
        lookup(cap, "CSend"),     lookup(cap, "current"),     lookup(cap, "safe_capture"),
        lookup(cap, "unwrap_pairs"), globals,                 lookup(globals, "route"),
        lookup(globals, "unheard"), lookup(globals, "_finish"), lookup(globals, "failed"),
        lookup(globals, "_value"), lookup(globals, "_kwargs"), nothing,
        lookup(globals, "LIMIT"), ids,
        cap,                      names_globals,              values_globals,
        loop,                     lookup(values_globals, "StrDict"), wire,
        lookup(cap, "NO_CALLS"),  lookup(cap, "task_calls"),  lookup(names_globals, "_by_ids"),
        lookup(names_globals, "_signal_names"), lookup(names_globals, "_sender_labels"),
        lookup(globals, "thread_name"), counter, lookup(values_globals, "ModelPk"),
        lookup(cap, "thread_parent"), lookup(cap, "_current_task"), lookup(cap, "_task_name"),
        lookup(cap, "_Task"),
    };
    PyObject *items = lookup(values_globals, "ITEMS");
    for (Py_ssize_t i = 0; i < N_KEPT; i++) {
        if (found[i] == NULL) {
            Py_DECREF(counter);
            return NULL; /* the first missing one's error is set (later lookups: the same) */
        }
    }
    PyObject *send = found[0];
    int dicts = 1;
    for (Py_ssize_t i = 21; i < 25; i++) { /* task_calls ... _sender_labels */
        dicts = dicts && PyDict_CheckExact(found[i]);
    }
    if (!PyType_Check(send) || !PyType_IsSubtype((PyTypeObject *)send, &Send_Type) ||
        ((PyTypeObject *)send)->tp_basicsize != Send_Type.tp_basicsize || !dicts ||
        Py_TYPE(counter)->tp_iternext == NULL || items == NULL || !PyLong_Check(items) ||
        !PyLong_Check(found[12])) {
        Py_DECREF(counter);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError,
                            "sigscope._speedups: capture/record/names/values are not as expected");
        }
        return NULL;
    }
    Py_ssize_t new_limit = PyLong_AsSsize_t(found[12]), new_items = PyLong_AsSsize_t(items);
    if (PyErr_Occurred()) {
        Py_DECREF(counter);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < N_KEPT; i++) {
        Py_XSETREF(*kept[i], Py_NewRef(found[i]));
    }
    Py_DECREF(counter); /* kept[] holds its own reference now */
    limit = new_limit;
    items_limit = new_items;
    has_async = asynchronous;
    configured_in = this_interpreter();
    Py_RETURN_NONE;
}

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

/* The module is freed (interpreter shutdown): drop what configure() kept,
 * if it is this interpreter's. */
static void
module_free(void *module)
{
    (void)module;
    if (Send_type != NULL && configured_in == this_interpreter()) {
        release_config();
    }
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, capture, record, names, values, no_receivers, get_running_loop, wire, "
     "has_async)"},
    {"timed", (PyCFunction)(void (*)(void))timed_new, METH_FASTCALL,
     "timed(receivers, marks): capture.timed() in C."},
    {"kwargs", (PyCFunction)(void (*)(void))kwargs_function, METH_FASTCALL,
     "kwargs(named, redactor, reprs): record._kwargs() in C."},
    {"finish", (PyCFunction)(void (*)(void))finish_function, METH_FASTCALL,
     "finish(send, signal, sender, named, responses): record._finish() in C (its common case)."},
    {"regroup", (PyCFunction)(void (*)(void))regroup_function, METH_FASTCALL,
     "regroup(catch_all, filtering, record_all, lone_unheard, plain): the running tracers."},
    {"clock", clock_function, METH_NOARGS, "time.perf_counter_ns(), the clock used here."},
    {"versions_used", versions_used_function, METH_O,
     "versions_used(cls): the class's version tags used (CPython 3.13+), else None."},
    {"give_back_versions", (PyCFunction)(void (*)(void))give_back_versions_function,
     METH_FASTCALL, "give_back_versions(cls, used): lower the count back to used."},
    {"flush_unheard", flush_unheard_function, METH_NOARGS,
     "flush_unheard(): the lone tracer's pending unheard counts into its dict (before reading it)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_speedups",
    .m_doc = "The hot path of a traced send, in C.",
    .m_size = -1, /* single-phase: the C globals above (see configured()) */
    .m_methods = methods,
    .m_free = module_free,
};

static int
intern_names(void)
{
#define INTERN(var, text)                                                                         \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return -1;
    INTERN(s_receivers, "receivers");
    INTERN(s_cache, "sender_receivers_cache");
    INTERN(s_data, "data");
    INTERN(s_sender, "sender");
    INTERN(s_wired, "wired");
    INTERN(s_signal_id, "signal_id");
    INTERN(s_proxied, "proxied");
    INTERN(s_error, "error");
    INTERN(s_async_calls, "async_calls");
    INTERN(s_tracers, "tracers");
    INTERN(s_record_all, "record_all");
    INTERN(s_lone_unheard, "lone_unheard");
    INTERN(s_catch_all, "catch_all");
    INTERN(s_filtering, "filtering");
    INTERN(s_enabled, "enabled");
    INTERN(s_plans, "plans");
    INTERN(s_live, "_live_receivers");
    INTERN(s_marks, "marks");
    INTERN(s_n, "n");
    INTERN(s_infos, "infos");
    INTERN(s_results, "results");
    INTERN(s_signal, "signal");
    INTERN(s_end, "end");
    INTERN(s_thread_id, "thread_id");
    INTERN(s_value_options, "_value_options");
    INTERN(s_buffer, "_buffer");
    INTERN(s_seen, "_seen");
    INTERN(s_record, "_record");
    INTERN(s_append, "append");
    INTERN(s_by_ids, "_by_ids");
    INTERN(s_signal_names, "_signal_names");
    INTERN(s_sender_labels, "_sender_labels");
    INTERN(s_thread_key, "sigscope.tracing: this thread's name");
    INTERN(s_parent_key, "sigscope.tracing: this thread's parent");
    INTERN(s_get_name, "get_name");
    INTERN(s_plain_record, "_plain_record");
    INTERN(s_ref, "ref");
    INTERN(s_full, "full");
    INTERN(s_kinds, "_KINDS");
    INTERN(s_models, "_models");
    INTERN(s_dict, "__dict__");
    INTERN(s_id, "id");
    INTERN(s_parent, "parent");
    INTERN(s_method, "method");
    INTERN(s_start, "start");
    INTERN(s_task_calls, "task_calls");
    INTERN(s_threads_marked, "threads_marked");
    INTERN(s_safe, "safe");
#undef INTERN
    return 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    one = PyLong_FromLong(1);
    zero = PyLong_FromLong(0);
    if (one == NULL || zero == NULL || PyType_Ready(&Send_Type) < 0 || intern_names() < 0 ||
        PyType_Ready(&Timed_Type) < 0 || PyType_Ready(&Marks_Type) < 0 ||
        PyType_Ready(&Ring_Type) < 0 || PyType_Ready(&SyncSend_Type) < 0 ||
        PyType_Ready(&Live_Type) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "SyncSend", (PyObject *)&SyncSend_Type) < 0 ||
        PyModule_AddObjectRef(module, "Timed", (PyObject *)&Timed_Type) < 0 ||
        PyModule_AddObjectRef(module, "Marks", (PyObject *)&Marks_Type) < 0 ||
        PyModule_AddObjectRef(module, "Ring", (PyObject *)&Ring_Type) < 0 ||
        PyModule_AddObjectRef(module, "Send", (PyObject *)&Send_Type) < 0 ||
        PyModule_AddObjectRef(module, "LiveReceivers", (PyObject *)&Live_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
