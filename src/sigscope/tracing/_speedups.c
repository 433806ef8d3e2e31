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
 * One translation unit: the parts in _marks.h, _unheard.h, _kwargs.h,
 * _finish.h (with _ring.h) and _versions.h are included once each, where
 * their section stood, and use what is declared above them.
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

#include "_unheard.h" /* is anybody listening; the unheard sends' counts */

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

/* found (borrowed) is a send of ``signal`` begun by an outer subclass method whose
 * receivers are not fetched yet (patch._joins).  1, 0, -1 on error. */
static int
joins(PyObject *found, PyObject *signal)
{
    if (!is_send(found) || !SEND(found)->proxied || SEND(found)->wired) {
        return 0; /* patch._joins: only an outer subclass method's send is joined */
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
         * then (a str's comparison runs no Python code), after its first and last
         * characters (pre_init's "kwargs" is six long too).  Missing one made
         * send(signal, x, **{that: y}) a traced send that Django's TypeError ended. */
        if (kwname == s_sender ||
            (PyUnicode_Check(kwname) && PyUnicode_GET_LENGTH(kwname) == 6 &&
             PyUnicode_READ_CHAR(kwname, 0) == 's' && PyUnicode_READ_CHAR(kwname, 5) == 'r' &&
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

#include "_kwargs.h" /* the keyword arguments described, the redaction plans */

#include "_finish.h" /* a finished send turned into an event (and _ring.h) */

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

#include "_versions.h" /* CPython 3.13+'s per-class version tags */

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
