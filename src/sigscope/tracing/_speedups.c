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
 *   - kwargs(): record._kwargs()'s common case (no name hidden).
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

static int
append_clock(PyObject *marks) /* marks: a list (borrowed); -1 on error */
{
    PyObject *stamp = PyLong_FromLongLong(clock_ns()); /* new */
    if (stamp == NULL) {
        return -1;
    }
    int failed = PyList_Append(marks, stamp);
    Py_DECREF(stamp);
    return failed;
}

static PyObject *
clock_function(PyObject *module, PyObject *unused)
{
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

/* Interned attribute and key names. */
static PyObject *s_receivers, *s_cache, *s_data, *s_sender, *s_wired, *s_signal_id, *s_proxied,
    *s_error, *s_async_calls, *s_tracers, *s_record_all, *s_lone_unheard, *s_catch_all,
    *s_filtering, *s_enabled, *s_plans;

static int
configured(void)
{
    if (Send_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sigscope._speedups: configure() was not called");
        return 0;
    }
    return 1;
}

/* record.<name> as it is now (borrowed; NULL with an error if missing). */
static PyObject *
record_global(PyObject *name)
{
    PyObject *found = PyDict_GetItemWithError(record_dict, name);
    if (found == NULL && !PyErr_Occurred()) {
        PyErr_SetObject(PyExc_AttributeError, name);
    }
    return found;
}

static int
truth_of_global(PyObject *name) /* 1, 0, or -1 on error */
{
    PyObject *found = record_global(name);
    return found == NULL ? -1 : PyObject_IsTrue(found);
}

/* ------------------------------------------------------------------ Timed */

/* capture.timed(receivers, marks): the receivers, noting the clock before each
 * is handed out and once at the end.  Holds the iterator and the marks list. */
typedef struct {
    PyObject_HEAD
    PyObject *iterator; /* new; NULL once exhausted */
    PyObject *marks;    /* new: the send's list of clock readings */
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
timed_new(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "timed(receivers, marks: list)");
        return NULL;
    }
    PyObject *iterator = PyObject_GetIter(args[0]); /* new */
    if (iterator == NULL) {
        return NULL;
    }
    Timed *self = PyObject_New(Timed, &Timed_Type);
    if (self == NULL) {
        Py_DECREF(iterator);
        return NULL;
    }
    self->iterator = iterator;
    self->marks = Py_NewRef(args[1]);
    return (PyObject *)self;
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

/* Count the unheard send (record_all is off).  Returns Django's [] (new). */
static PyObject *
count_unheard(PyObject *signal, PyObject *sender)
{
    PyObject *counts = record_global(s_lone_unheard); /* borrowed */
    if (counts == NULL) {
        return NULL;
    }
    if (counts != Py_None && PyDict_CheckExact(counts)) {
        PyObject *key = Py_BuildValue("(NN)", PyLong_FromVoidPtr(signal),
                                      PyLong_FromVoidPtr(sender)); /* new */
        if (key == NULL) {
            return NULL;
        }
        PyObject *count = PyDict_GetItemWithError(counts, key); /* borrowed */
        if (count != NULL) {
            PyObject *one_more = PyNumber_Add(count, one); /* new */
            int failed = one_more == NULL || PyDict_SetItem(counts, key, one_more) < 0;
            Py_XDECREF(one_more);
            Py_DECREF(key);
            return failed ? NULL : PyList_New(0);
        }
        Py_DECREF(key);
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    int any = truth_of_global(s_catch_all);
    if (any == 0) {
        any = truth_of_global(s_filtering);
    }
    if (any < 0) {
        return NULL;
    }
    if (any) {
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

/* found (borrowed) is a send of ``signal`` begun by an outer method whose
 * receivers are not fetched yet (patch._joins).  1, 0, -1 on error. */
static int
joins(PyObject *found, PyObject *signal)
{
    if (found == Py_None || (PyObject *)Py_TYPE(found) != Send_type) {
        return 0;
    }
    PyObject *wired = PyObject_GetAttr(found, s_wired); /* new */
    if (wired == NULL) {
        return -1;
    }
    int is_wired = PyObject_IsTrue(wired);
    Py_DECREF(wired);
    if (is_wired != 0) {
        return is_wired < 0 ? -1 : 0;
    }
    PyObject *signal_id = PyObject_GetAttr(found, s_signal_id); /* new */
    if (signal_id == NULL) {
        return -1;
    }
    int same = PyLong_CheckExact(signal_id) && PyLong_AsVoidPtr(signal_id) == (void *)signal;
    Py_DECREF(signal_id);
    return same;
}

/* After Django's loop: record the send (record.finish(), inline).  0, or -1
 * with a BaseException pending that must propagate. */
static int
record_send(PyObject *send, PyObject *signal, PyObject *sender, PyObject *named,
            PyObject *responses)
{
    PyObject *args[5] = {send, signal, sender, named, responses};
    PyObject *done = PyObject_Vectorcall(finish_fn, args, 5, NULL); /* new */
    if (done != NULL) {
        Py_DECREF(done);
        /* record.release(), inline (Django's loop: never proxied here) */
        if (PyObject_SetAttr(send, s_receivers, Py_None) < 0) {
            return -1;
        }
        PyObject *empty = PyTuple_New(0); /* new */
        int failed = empty == NULL || PyObject_SetAttr(send, s_tracers, empty) < 0;
        Py_XDECREF(empty);
        return failed ? -1 : 0;
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

/* Call Django's method inside a new traced send.  patch._django_sync's body
 * from ``send = _Send(...)`` on.  Returns the responses (new) or NULL. */
static PyObject *
traced_call(SyncSend *self, PyObject *const *args, size_t nargsf, PyObject *kwnames,
            PyObject *tracers, PyObject *found, PyObject *sender, Py_ssize_t sender_at)
{
    PyObject *signal = args[0];
    PyObject *signal_id = PyLong_FromVoidPtr(signal); /* new */
    if (signal_id == NULL) {
        return NULL;
    }
    PyObject *init[4] = {signal_id, self->name, tracers, found};
    PyObject *send = PyObject_Vectorcall(Send_type, init, 4, NULL); /* new */
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
        if (captured == NULL || PyObject_SetAttr(send, s_error, captured) < 0) {
            raised_fetch(&own);
        }
        Py_XDECREF(captured);
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
        PyObject *named = named_dict(args, PyVectorcall_NARGS(nargsf), kwnames, sender_at);
        if (named == NULL ||
            record_send(send, signal, sender, named, responses ? responses : Py_None) < 0) {
            raised_fetch(&own);
        }
        Py_XDECREF(named);
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
    PyObject *async_calls = PyObject_GetAttr(send, s_async_calls); /* new */
    Py_DECREF(send);
    int some = async_calls == NULL ? -1 : PyObject_IsTrue(async_calls);
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
        if (PyTuple_GET_ITEM(kwnames, i) == s_sender) { /* kwnames are interned */
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
        int all = truth_of_global(s_record_all);
        if (all < 0) {
            return NULL;
        }
        if (!all) {
            return count_unheard(signal, sender);
        }
    }
    int filters = truth_of_global(s_filtering);
    if (filters < 0) {
        return NULL;
    }
    PyObject *tracers = filters ? PyObject_CallFunctionObjArgs(route_fn, signal, sender, NULL)
                                : Py_XNewRef(record_global(s_catch_all)); /* new */
    if (tracers == NULL) {
        return NULL;
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
        if (PyObject_SetAttr(found, s_proxied, Py_False) == 0) {
            result = PyObject_Vectorcall(self->original, args, nargsf, kwnames);
        }
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

static PyObject *
syncsend_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *name, *original, *fallback;
    if (!PyArg_ParseTuple(args, "UOO:SyncSend", &name, &original, &fallback)) {
        return NULL;
    }
    SyncSend *self = (SyncSend *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->name = Py_NewRef(name);
    self->original = Py_NewRef(original);
    self->fallback = Py_NewRef(fallback);
    self->dict = NULL;
    self->vectorcall = syncsend_vectorcall;
    return (PyObject *)self;
}

/* Bound like a function: Signal.send -> itself, signal.send -> a method. */
static PyObject *
syncsend_get(PyObject *self, PyObject *obj, PyObject *type)
{
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

static PyTypeObject SyncSend_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sigscope.tracing._speedups.SyncSend",
    .tp_basicsize = sizeof(SyncSend),
    .tp_dealloc = (destructor)syncsend_dealloc,
    .tp_vectorcall_offset = offsetof(SyncSend, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "patch._django_sync()'s method in C: SyncSend(name, original, fallback).",
    .tp_traverse = (traverseproc)syncsend_traverse,
    .tp_clear = (inquiry)syncsend_clear,
    .tp_descr_get = syncsend_get,
    .tp_dictoffset = offsetof(SyncSend, dict),
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
    .tp_new = syncsend_new,
};

/* ---------------------------------------------------------------- kwargs */

/* An atom (record.atom): None, bool, int, or a str of at most LIMIT chars. */
static inline int
is_atom(PyObject *value)
{
    PyTypeObject *cls = Py_TYPE(value);
    return value == Py_None || cls == &PyBool_Type || cls == &PyLong_Type ||
           (cls == &PyUnicode_Type && PyUnicode_GET_LENGTH(value) <= limit);
}

/* record._kwargs(named, redactor, reprs): the tuple of (name, value) pairs
 * (new).  The common case (no name hidden) is done here; when a name may be
 * hidden, or the redactor has no plan yet for these names, record._kwargs
 * itself decides. */
static PyObject *
kwargs_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyDict_CheckExact(args[0]) || !configured()) {
        PyErr_SetString(PyExc_TypeError, "kwargs(named: dict, redactor, reprs)");
        return NULL;
    }
    PyObject *named = args[0], *redactor = args[1], *reprs = args[2];
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
        PyObject *names = PyDict_Keys(named); /* new: tuple(named), as a list first */
        PyObject *key = names == NULL ? NULL : PyList_AsTuple(names); /* new */
        Py_XDECREF(names);
        PyObject *plan = NULL; /* borrowed */
        if (key != NULL && PyDict_CheckExact(plans)) {
            plan = PyDict_GetItemWithError(plans, key);
        }
        Py_XDECREF(key);
        Py_DECREF(plans);
        if (plan == NULL || plan != Py_False) { /* unknown or hiding: Python decides */
            return PyErr_Occurred() ? NULL : PyObject_Vectorcall(kwargs_fn, args, 3, NULL);
        }
        hidden = redactor;
    }
    PyObject *out = PyTuple_New(PyDict_GET_SIZE(named)); /* new */
    Py_ssize_t pos = 0, index = 0;
    PyObject *name, *value; /* borrowed */
    while (out != NULL && PyDict_Next(named, &pos, &name, &value)) {
        PyObject *shown; /* new */
        if (is_atom(value)) {
            shown = Py_NewRef(value);
        } else {
            PyObject *call[4] = {value, (PyObject *)Py_TYPE(value), hidden, reprs};
            shown = PyObject_Vectorcall(value_fn, call, 4, NULL);
        }
        PyObject *pair = shown == NULL ? NULL : PyTuple_Pack(2, name, shown); /* new */
        Py_XDECREF(shown);
        if (pair == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, index++, pair); /* steals pair */
    }
    return out;
}

/* ----------------------------------------------------------------- module */

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"Send", "current", "safe_capture", "unwrap_pairs", "record",
                            "no_receivers", NULL};
    PyObject *send, *current, *capture, *unwrap, *record, *nothing;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OOOOOO:configure", names, &send, &current,
                                     &capture, &unwrap, &record, &nothing)) {
        return NULL;
    }
    PyObject *globals = PyModule_GetDict(record); /* borrowed */
    if (globals == NULL) {
        return NULL;
    }
    PyObject *route = PyDict_GetItemString(globals, "route");
    PyObject *unheard = PyDict_GetItemString(globals, "unheard");
    PyObject *finish = PyDict_GetItemString(globals, "_finish");
    PyObject *failed = PyDict_GetItemString(globals, "failed");
    PyObject *value = PyDict_GetItemString(globals, "_value");
    PyObject *pure_kwargs = PyDict_GetItemString(globals, "_kwargs");
    PyObject *lim = PyDict_GetItemString(globals, "LIMIT");
    if (!route || !unheard || !finish || !failed || !value || !pure_kwargs || !lim || !PyLong_Check(lim)) {
        PyErr_SetString(PyExc_RuntimeError, "sigscope._speedups: record lacks a function");
        return NULL;
    }
    Py_XSETREF(Send_type, Py_NewRef(send));
    Py_XSETREF(current_var, Py_NewRef(current));
    Py_XSETREF(safe_capture, Py_NewRef(capture));
    Py_XSETREF(unwrap_pairs, Py_NewRef(unwrap));
    Py_XSETREF(record_dict, Py_NewRef(globals));
    Py_XSETREF(route_fn, Py_NewRef(route));
    Py_XSETREF(unheard_fn, Py_NewRef(unheard));
    Py_XSETREF(finish_fn, Py_NewRef(finish));
    Py_XSETREF(failed_fn, Py_NewRef(failed));
    Py_XSETREF(value_fn, Py_NewRef(value));
    Py_XSETREF(kwargs_fn, Py_NewRef(pure_kwargs));
    Py_XSETREF(no_receivers, Py_NewRef(nothing));
    Py_XSETREF(limit_obj, Py_NewRef(lim));
    limit = PyLong_AsSsize_t(lim);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, Send, current, safe_capture, unwrap_pairs, record, no_receivers)"},
    {"timed", (PyCFunction)(void (*)(void))timed_new, METH_FASTCALL,
     "timed(receivers, marks): capture.timed() in C."},
    {"kwargs", (PyCFunction)(void (*)(void))kwargs_function, METH_FASTCALL,
     "kwargs(named, redactor, reprs): record._kwargs() in C."},
    {"clock", clock_function, METH_NOARGS, "time.perf_counter_ns(), the clock used here."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups", "The hot path of a traced send, in C.", -1, methods,
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
#undef INTERN
    return 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    one = PyLong_FromLong(1);
    if (one == NULL || intern_names() < 0 || PyType_Ready(&Timed_Type) < 0 || PyType_Ready(&SyncSend_Type) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "SyncSend", (PyObject *)&SyncSend_Type) < 0 ||
        PyModule_AddObjectRef(module, "Timed", (PyObject *)&Timed_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
