"""Plain, frozen records: the facts sigscope collects, and nothing live.

Every record here is a frozen, slotted dataclass of strings, numbers, booleans
and tuples of other records.  No record holds a reference to a live signal,
receiver or sender, so a snapshot keeps nothing alive and can be serialised,
compared and rendered long after the objects it describes are gone.

The one exception to "facts only" is ``obj_id`` fields: the ``id()`` of the
live object at collection time.  They let a :class:`~sigscope.Snapshot` answer
questions about live objects (``receivers_for(post_save, sender=Order)``) the
way Django itself does, by identity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AppInfo",
    "BypassEvent",
    "BypassSite",
    "CallableInfo",
    "DeclaredReceiver",
    "ErrorInfo",
    "Finding",
    "Findings",
    "ModelInfo",
    "OnCommitCallback",
    "PendingInfo",
    "ReceiverCall",
    "ReceiverInfo",
    "ScanError",
    "SendEvent",
    "SendSite",
    "SenderInfo",
    "SignalInfo",
    "UnheardSends",
    "to_plain",
]

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, slots=True)
class CallableInfo:
    """Who a receiver is, as a Django developer would name it.

    ``kind`` is one of ``function``, ``lambda``, ``method`` (bound to an
    instance), ``classmethod``, ``partial``, ``callable`` (an instance with
    ``__call__``), ``builtin``, ``dead`` (a weak reference whose target was
    garbage collected) or ``other``.
    """

    kind: str
    module: str | None
    qualname: str
    file: str | None = None
    line: int | None = None
    is_async: bool = False
    is_closure: bool = False
    #: Wrappers around the real function, outermost first (``functools.wraps``).
    wrapped_by: tuple[str, ...] = ()
    #: For methods: the instance's safe repr; for partials: the bound arguments.
    bound_to: str | None = None
    #: ``id()`` of the function object (``__func__`` for methods), or ``None``.
    func_id: int | None = None
    #: ``id()`` of the code object, shared by every function made from one ``def``.
    code_id: int | None = None
    #: ``id()`` of the bound instance for methods.
    self_id: int | None = None
    #: The source exists only in ``linecache`` (a notebook cell, ``exec``).
    in_memory_source: bool = False

    @property
    def name(self) -> str:
        """The dotted name: ``shop.signals.recalculate_totals``."""
        return f"{self.module}.{self.qualname}" if self.module else self.qualname

    @property
    def location(self) -> str:
        """``file:line``, or an empty string when there is no source."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """What a registration listens to.

    ``kind`` is ``any`` (``sender=None``), ``model`` (label ``shop.Order``),
    ``app_config`` (label ``app:shop``), ``object`` (a safe repr) or
    ``unknown`` (Django kept only an ``id()`` and nothing live matches it).
    """

    kind: str
    label: str | None
    obj_id: int
    #: Where the sender is defined or bound: ``shop.models.Order``, ``shop.signals.BILLING``.
    path: str | None = None

    @property
    def is_any(self) -> bool:
        return self.kind == "any"

    def __str__(self) -> str:
        return "any sender" if self.is_any else str(self.label)


@dataclass(frozen=True, slots=True)
class ReceiverInfo:
    """One registration: an entry of ``Signal.receivers``.

    A function connected twice (two ``dispatch_uid``s, or ``sender=None`` plus
    a specific sender) gives two ``ReceiverInfo`` records.
    """

    signal: str
    index: int
    receiver: CallableInfo
    sender: SenderInfo
    dispatch_uid: str | None
    weak: bool
    is_async: bool
    dead: bool
    #: ``repr`` of Django's lookup key, for people who read the internals.
    lookup_key: str = ""
    #: The receiver is a weak one that only Django's DEBUG cache keeps alive.
    debug_kept_alive: bool = False
    #: A module-level function that is no longer what its module binds (reload).
    stale: bool = False
    #: ``file:line`` of the ``@receiver`` or ``.connect()`` that made it, when the scan can tell.
    connected_at: str | None = None
    #: For a dead receiver: the dotted name the source connects, when the scan can tell.
    declared_as: str | None = None


@dataclass(frozen=True, slots=True)
class SignalInfo:
    """One live ``Signal`` instance and its registrations in Django's order."""

    name: str
    class_name: str
    obj_id: int
    use_caching: bool
    is_builtin: bool
    aliases: tuple[str, ...]
    receivers: tuple[ReceiverInfo, ...]
    #: Where the project's source sends it (a static scan; empty without one).
    sent_from: tuple[SendSite, ...] = ()

    @property
    def app(self) -> str:
        """The top package of the module that defines the signal."""
        return self.name.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class SendSite:
    """A ``signal.send(...)`` (``send_robust``/``asend``/``asend_robust``) call in source.

    Found by a static scan: nothing is imported to find it.
    """

    file: str
    line: int
    #: The enclosing function's qualified name (``OrderService.place``), or ``<module>``.
    function: str
    #: ``send``, ``send_robust``, ``asend`` or ``asend_robust``.
    method: str
    #: The ``sender`` argument as written (``Order``, ``self.__class__``), or ``None``.
    sender: str | None
    #: The model label the sender expression names (``shop.Order``), when the scan can tell.
    sender_model: str | None = None


@dataclass(frozen=True, slots=True)
class BypassSite:
    """A ``bulk_create``/``bulk_update``/``QuerySet.update()`` call in source on a model.

    Found by a static scan: ``model`` is the label of the live model the call resolves to.
    """

    file: str
    line: int
    #: The enclosing function's qualified name, or ``<module>``.
    function: str
    #: ``bulk_create``, ``bulk_update`` or ``update``.
    operation: str
    model: str


@dataclass(frozen=True, slots=True)
class PendingInfo:
    """A ``connect(..., sender="app.Model")`` waiting for its model to load."""

    signal: str
    model: str
    receiver: CallableInfo
    weak: bool
    dispatch_uid: str | None
    #: True when the app registry is ready, so the model will never arrive.
    unresolvable: bool
    #: Why it cannot resolve, and the closest real model labels.
    reason: str = ""
    suggestions: tuple[str, ...] = ()
    #: ``file:line`` of the ``@receiver``/``.connect()`` that made it, when the scan can tell.
    connected_at: str | None = None


@dataclass(frozen=True, slots=True)
class DeclaredReceiver:
    """A receiver written in source (``@receiver(...)`` or ``.connect(...)``).

    Found by a static scan: nothing is imported to find it.
    """

    file: str
    line: int
    module: str
    function: str
    signal: str
    sender: str | None
    dispatch_uid: str | None
    via: str  # "receiver" or "connect"
    #: ``module`` (top level), ``ready`` (inside an ``AppConfig.ready``) or ``function``.
    scope: str
    #: The ``dispatch_uid`` is written as a literal that Django ignores (``""``, ``0``).
    falsy_dispatch_uid: bool = False
    #: Dotted paths resolved through the file's imports (``None`` when the scan cannot tell):
    #: the signal (``django.db.models.signals.post_save``), the receiver
    #: (``shop.handlers.audit``) and the sender (``shop.models.Order``, or a literal label).
    signal_path: str | None = None
    receiver_path: str | None = None
    sender_path: str | None = None
    #: Line of the ``@receiver(...)`` decorator itself (``line`` is the first decorator's).
    connect_line: int | None = None

    @property
    def where(self) -> str:
        """``file:line`` of the ``@receiver``/``.connect()``/``.disconnect()`` call."""
        return f"{self.file}:{self.connect_line or self.line}"


@dataclass(frozen=True, slots=True)
class ScanError:
    """A project file the source scan could not read: it does not decode or parse."""

    file: str
    module: str
    #: ``"decode"`` or ``"syntax"``.
    reason: str
    message: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class AppInfo:
    """An installed app and the ``AppConfig`` that loads it."""

    label: str
    #: The app's module (``INSTALLED_APPS`` entry's ``name``).
    name: str
    #: ``module.QualName`` of its ``AppConfig`` class, and the package relative imports
    #: in that module start from.
    config: str
    config_package: str
    #: The ``AppConfig`` class defines its own ``ready()``.
    has_ready: bool = False


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """An installed model and the models whose saves do not send with it as sender."""

    label: str
    #: ``module.QualName`` of the class.
    path: str
    proxy: bool
    #: Labels of its concrete ancestors (the proxied model, multi-table parents), nearest first.
    concrete_ancestors: tuple[str, ...] = ()
    #: ``module.QualName`` of its abstract ancestors, nearest first.
    abstract_ancestors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem sigscope can explain, with what happens and how to fix it."""

    kind: str
    severity: str
    signal: str | None
    sender: str | None
    receivers: tuple[str, ...]
    message: str
    fix: str
    locations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An exception a receiver raised (or that left a send), as text."""

    type: str
    message: str
    traceback: str = ""
    #: ``(file, line, function)`` of the innermost frames, as recorded during the send.
    frames: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverCall:
    """One receiver run by one send."""

    #: Position in Django's call order for this send (sync receivers, then async).
    index: int
    receiver: CallableInfo
    is_async: bool
    duration_ns: int
    #: Safe, bounded repr of what it returned (``None`` when it raised).
    result: str | None = None
    error: ErrorInfo | None = None
    #: When it started, in nanoseconds after its send started.
    offset_ns: int = 0

    @property
    def name(self) -> str:
        return self.receiver.name


@dataclass(frozen=True, slots=True)
class SendEvent:
    """One ``send``/``send_robust``/``asend``/``asend_robust`` call and what it ran."""

    id: int
    #: ``(send id, call index)`` of the receiver this send was made from, or ``None``.
    parent: tuple[int, int] | None
    signal: str
    method: str
    #: Model label (``shop.Order``), ``app:<label>``, a safe repr, or ``None``.
    sender: str | None
    #: Keyword arguments as ``(name, safe repr)``; sensitive names redacted.
    kwargs: tuple[tuple[str, str], ...]
    thread: str
    thread_id: int
    task: str | None
    #: Wall-clock start (``time.time()``) and duration of the whole send.
    started_at: float
    duration_ns: int
    calls: tuple[ReceiverCall, ...]
    #: The exception that propagated out of the send, if one did.
    error: ErrorInfo | None = None
    #: ``host:pid`` of the process that recorded it, in a merged trace (``Trace.from_jsonl``);
    #: empty for this process's own sends.
    process: str = ""
    #: ``id()`` of the signal object, to match a send to a snapshot's ``SignalInfo.obj_id``
    #: in this process (an unnamed signal's name is only a number); 0 when not known.
    #: Not written to JSON Lines.
    signal_id: int = 0


@dataclass(frozen=True, slots=True)
class UnheardSends:
    """Sends of one signal from one sender that reached no receiver (counted, not recorded)."""

    signal: str
    #: Same form as ``SendEvent.sender``.
    sender: str | None
    count: int


@dataclass(frozen=True, slots=True)
class BypassEvent:
    """An ORM call that skipped model signals on a model that has receivers for them.

    ``QuerySet.bulk_create``/``bulk_update``/``update()`` send no ``pre_save``/``post_save``;
    a raw delete sends no ``pre_delete``/``post_delete``.
    """

    id: int
    #: ``"bulk_create"``, ``"bulk_update"``, ``"update"`` or ``"raw_delete"``.
    operation: str
    #: The model's label (``shop.Order``).
    model: str
    #: Rows affected when known (``update()``'s count, the number of objects passed).
    rows: int | None
    #: Canonical names of the signals that were not sent.
    signals: tuple[str, ...]
    #: Dotted names of the receivers that did not run.
    receivers: tuple[str, ...]
    #: The caller's location in user code.
    file: str | None
    line: int | None
    function: str | None
    #: Wall-clock time (``time.time()``).
    started_at: float
    #: ``(send id, receiver index)`` when the call was made inside a receiver.
    parent: tuple[int, int] | None = None
    thread: str = ""


@dataclass(frozen=True, slots=True)
class OnCommitCallback:
    """A ``transaction.on_commit`` callback registered while a receiver ran."""

    id: int
    #: Dotted name of the callback (as receivers are named).
    callback: str
    #: ``(send id, receiver index)`` of the receiver that registered it.
    registered_by: tuple[int, int] | None
    #: Database alias.
    using: str
    #: Wall-clock time of ``on_commit()``.
    registered_at: float
    #: ``True`` it ran (the transaction committed), ``False`` it was discarded (rolled back),
    #: ``None`` the transaction is still open.
    ran: bool | None
    #: Wall-clock time it ran or was discarded.
    finished_at: float | None = None
    #: What the callback raised, if it ran and raised.
    error: ErrorInfo | None = None


class Findings(tuple[Finding, ...]):
    """A tuple of findings that also displays itself in a notebook (escaped HTML)."""

    __slots__ = ()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        from sigscope.views.html import CSS, findings_html
        from sigscope.views.text import format_findings

        text = format_findings(self) if self else "No findings."
        return {"text/plain": text, "text/html": f"<style>{CSS}</style>{findings_html(self)}"}


def to_plain(record: Any) -> Any:
    """Turn a record (or a tuple of them) into JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, (tuple, list)):
        return [to_plain(r) for r in record]
    return record
