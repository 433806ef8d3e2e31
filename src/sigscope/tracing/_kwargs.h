/* sigscope.tracing._speedups, part: describing a send's keyword arguments.
 *
 * Included once by _speedups.c, at this point of its one translation unit.
 *   - values.describe()'s common cases (atoms, model instances by pk from
 *     ``__dict__``, the WSGI ``environ`` as a StrDict), never running user code;
 *   - per call site (its ``kwnames`` tuple) the redaction plan: whether the
 *     redactor hides none of the names;
 *   - kwargs(): record._kwargs() for the cases decided in C.
 */

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
