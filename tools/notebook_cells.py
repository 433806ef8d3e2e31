"""The source of the teaching notebooks: cells as ("md" | "code", text), one list per notebook.

``python tools/build_notebooks.py`` writes ``notebooks/*.ipynb`` from these and
executes them (stored outputs are part of the notebooks, so they read well on
GitHub without a kernel).  Edit here, not in the .ipynb files.
"""

from __future__ import annotations

SETUP = """\
import sigscope, sigscope.demo
sigscope.demo.setup()          # the bundled demo project: a shop and a blog, SQLite in memory
sigscope.demo.migrate()"""

TOUR = [
    (
        "md",
        """\
# sigscope in five minutes

[sigscope](../README.md) shows Django's signal wiring: which receivers exist, for which senders,
which ones are registered twice, which ones died or were never connected, and what actually ran
when a model was saved. This tour uses the bundled demo project. Next:
[Signals 101](02_signals_101.ipynb) ·
[Debugging duplicate registrations](03_debugging_duplicates.ipynb) ·
[Tracing and performance](04_tracing_and_performance.ipynb) ·
[Your own project](05_your_own_project.ipynb)""",
    ),
    ("code", SETUP),
    (
        "md",
        """\
## 1. Inspect

A snapshot reads every live `Signal` and its receivers. It only reads: nothing is imported,
connected or pruned. Displayed, it shows the findings and every registration (Django's own
receivers are left out of the picture).""",
    ),
    ("code", "snap = sigscope.snapshot()\nsnap"),
    (
        "md",
        """\
## 2. The interactive inspector

The same picture as a map: senders and send sites on the left, signals in the middle, receivers
on the right, grouped by app. Drag to pan, scroll to zoom; hover a node to light up everything
upstream and downstream of it; click one for its details (`file:line`, source, sender,
`dispatch_uid`, findings with their fix) — `inspector.selected` then gives you its record. Click
an app's header to fold it; Django's own receivers start folded. The search box highlights and
centres what it finds. Widgets need a running kernel; the static view above works everywhere.""",
    ),
    ("code", "inspector = sigscope.inspect()\ninspector"),
    (
        "md",
        """\
## 3. One finding

Each finding says what happens and how to fix it.""",
    ),
    (
        "code",
        """\
finding = next(f for f in snap.findings if f.kind == "duplicate_any_and_specific")
print(finding.message)
print("fix:", finding.fix)""",
    ),
    (
        "md",
        """\
## 4. Trace one save

`sigscope.trace()` records every send while the block runs: the receivers in Django's call
order, how long each took, what each returned, and sends made inside receivers.""",
    ),
    (
        "code",
        """\
from sigscope.demo.shop.models import Customer, Order

order = Order.objects.create(customer=Customer.objects.first(), total="10.00")
with sigscope.trace() as t:
    order.total = "12.50"
    order.save()
t""",
    ),
    (
        "code",
        """\
# what ran, in order
t.receivers_called("post_save")""",
    ),
    (
        "md",
        """\
## 5. Watch signals flow

`sigscope.inspect(live=True)` runs a tracer and animates the same graph: each time a receiver
runs its link pulses and its counter ticks, an error flashes red and stays marked, a signal sent
with nobody listening and an ORM call that skipped signals are marked on their nodes. The
positions never move while it is live. Run the next cell, then the one after it, and watch.""",
    ),
    ("code", "live = sigscope.inspect(live=True)\nlive"),
    (
        "code",
        """\
sigscope.demo.run_scenario()  # place, ship and delete an order; tag and publish a post
live.live.stop()  # stop recording (the counters stay on the graph)
counts = live.graph.live
print(f"{counts['sends']} sends; {len(counts['calls'])} links ran, "
      f"{sum(counts['calls'].values())} receiver calls")""",
    ),
]


SIGNALS_101 = [
    (
        "md",
        """\
# Signals 101

Django's signal dispatcher lets decoupled code react to events. A **sender** sends a
**signal**; every **receiver** connected to it (for that sender, or for any sender) is called.
Each idea below is shown live with sigscope's inspector and tracer.""",
    ),
    ("code", SETUP + "\nimport django\ndjango.get_version()"),
    (
        "md",
        """\
## Built-in model signals

Saving a model sends `pre_save` and `post_save`, deleting sends `pre_delete` and `post_delete`,
and changing a many-to-many relation sends `m2m_changed` (twice: `pre_add`, then `post_add`).
The sender is the model class (for `m2m_changed`, the intermediate "through" model).""",
    ),
    (
        "code",
        """\
from sigscope.demo.blog.models import Post, Tag

with sigscope.trace(record_empty=True) as t:
    post = Post.objects.create(title="Hello")
    tag = Tag.objects.create(name="django")
    post.tags.add(tag)
    post.delete()
sent = [(e.signal.rpartition(".")[2], e.sender) for e in t.events]
sent""",
    ),
    (
        "code",
        """\
names = [name for name, _ in sent]
assert {"pre_save", "post_save", "m2m_changed", "pre_delete", "post_delete"} <= set(names)""",
    ),
    (
        "md",
        """\
## Request signals

Django's request handler sends `request_started` before a view runs and `request_finished` after
the response is sent. Their receivers include Django's own (`close_old_connections`).""",
    ),
    (
        "code",
        """\
from django.test import Client

with sigscope.trace(signals=["request_started", "request_finished"]) as t:
    response = Client().get("/orders/")
print(response.status_code, response.content)
[(e.signal.rpartition(".")[2], [c.name for c in e.calls]) for e in t.events]""",
    ),
    (
        "md",
        """\
## `Signal.connect(receiver, sender=None, weak=True, dispatch_uid=None)`

- `receiver`: any callable taking `sender` and `**kwargs` (Django checks the `**kwargs` when
  `DEBUG=True`).
- `sender`: only sends from this sender reach the receiver (`None`: any sender). For model
  signals it may be a model class or a lazy `"app_label.ModelName"` string.
- `weak`: Django keeps only a weak reference by default: a receiver nothing else references is
  garbage collected and silently stops running.
- `dispatch_uid`: a unique key; connecting again with the same key does nothing.""",
    ),
    (
        "code",
        """\
from django.dispatch import Signal

class Shop: ...
class Blog: ...

ping = Signal()
def on_ping(sender, **kwargs):
    return f"pong for {sender.__name__}"

ping.connect(on_ping, sender=Shop)        # only for sender Shop
print(ping.send(sender=Shop))             # called
print(ping.send(sender=Blog))             # not called: another sender
reg = sigscope.snapshot(scan_source=False).signal(ping).receivers[0]
reg.receiver.name, reg.sender.label, reg.weak, reg.dispatch_uid""",
    ),
    (
        "md",
        """\
## The `@receiver` decorator

`@receiver(signal, **connect_options)` connects the function it decorates; it also takes a list
of signals. The demo's blog connects one function to two signals:""",
    ),
    (
        "code",
        """\
import inspect as pyinspect
from sigscope.demo.blog import handlers
print(pyinspect.getsource(handlers.remember_activity))
snap = sigscope.snapshot()
[(r.signal.rpartition(".")[2], r.receiver.name) for r in snap.receivers
 if r.receiver.qualname == "remember_activity"]""",
    ),
    (
        "md",
        """\
## Connect in `AppConfig.ready()`

A receiver module must be imported to connect its receivers. The place Django recommends is the
app's `AppConfig.ready()`, which runs once, after all models are loaded. The demo shop does it
(and makes a few mistakes on purpose, which sigscope finds):""",
    ),
    (
        "code",
        """\
from sigscope.demo.shop import apps as shop_apps
print(pyinspect.getsource(shop_apps.ShopConfig.ready))""",
    ),
    (
        "md",
        """\
## Filtering by sender and the `post_save` arguments

`post_save` receivers get `sender` (the model class), `instance`, `created`, `update_fields`
(the set passed to `save(update_fields=...)`, or `None`), `raw` (`True` when loading fixtures)
and `using` (the database alias).""",
    ),
    (
        "code",
        """\
from django.db.models.signals import post_save
seen = []

def show_arguments(sender, instance, created, update_fields, raw, using, **kwargs):
    seen.append(dict(sender=sender.__name__, created=created, update_fields=update_fields,
                     raw=raw, using=using))

post_save.connect(show_arguments, sender=Post, weak=False)
post = Post.objects.create(title="Arguments")
post.title = "Arguments, again"
post.save(update_fields=["title"])
Tag.objects.create(name="not a post")            # another sender: not received
post_save.disconnect(show_arguments, sender=Post)
seen""",
    ),
    (
        "code",
        """\
assert [s["created"] for s in seen] == [True, False]
assert seen[1]["update_fields"] == frozenset({"title"})""",
    ),
    (
        "md",
        """\
## Custom signals, `send` and `send_robust`

A custom signal is a `Signal()` instance. `send()` calls the receivers in order and lets the
first exception propagate: later receivers don't run. `send_robust()` catches `Exception`, logs
it, and returns it in place of that receiver's result: every receiver runs.""",
    ),
    (
        "code",
        """\
payment_failed = Signal()

def alert(sender, **kwargs):
    raise RuntimeError("pager service down")

def refund(sender, **kwargs):
    return "refunded"

payment_failed.connect(alert, weak=False)
payment_failed.connect(refund, weak=False)

with sigscope.trace() as t:
    try:
        payment_failed.send(sender=None)
    except RuntimeError as exc:
        print("send() raised:", exc)
    results = payment_failed.send_robust(sender=None)
print("send_robust() returned:", [(r.__name__, v) for r, v in results])
t""",
    ),
    (
        "code",
        """\
assert [len(e.calls) for e in t.events] == [1, 2]   # send stopped after the error""",
    ),
    (
        "md",
        """\
## Weak references, and why `DEBUG=True` hides the problem

A receiver defined inside a function and connected weakly has no other reference once the
function returns: it is garbage collected and never runs. With `DEBUG=True`, Django's `connect`
checks the receiver's signature through a cache that keeps it alive — so it works in development
and disappears in production.""",
    ),
    (
        "code",
        """\
import gc
from django.test import override_settings

greeted = Signal()

def install():
    def greet(sender, **kwargs):
        return "hello"
    greeted.connect(greet)          # weak by default

with override_settings(DEBUG=False):   # as in production
    install()
gc.collect()
print("production:", greeted.send(sender=None))

install()                              # DEBUG=True, as in development
gc.collect()
print("development:", greeted.send(sender=None))
[(f.kind, f.message[:90]) for f in sigscope.snapshot(scan_source=False).findings
 if f.signal and f.signal.endswith("greeted")]""",
    ),
    (
        "md",
        """\
## `dispatch_uid` prevents duplicate registration

Connecting the same function twice with the same sender is already a no-op (same lookup key),
but code that creates a *new* function each time (a closure, a lambda, a reloaded module) is
connected again and again. A `dispatch_uid` makes the key stable.""",
    ),
    (
        "code",
        """\
counted = Signal()

def register(with_uid):
    def count(sender, **kwargs):
        return 1
    counted.connect(count, weak=False, dispatch_uid="count" if with_uid else None)

register(False); register(False)
print("without dispatch_uid:", len(counted.receivers), "registrations")
counted.receivers.clear()
register(True); register(True)
print("with dispatch_uid:", len(counted.receivers), "registration")
assert len(counted.receivers) == 1""",
    ),
    (
        "md",
        """\
## Async receivers and `asend` (Django ≥ 5.0)

From Django 5.0 a receiver may be an `async def`. `await signal.asend(...)` runs sync receivers
(in a thread) and async ones; `send()` runs async receivers through `async_to_sync`, which cannot
work on a thread that is running an event loop — such as a notebook cell: use `await asend()`.
On Django 4.2 an async receiver is never awaited (sigscope reports that).""",
    ),
    (
        "code",
        """\
if django.VERSION >= (5, 0):
    from sigscope.demo.shop.signals import order_shipped
    from sigscope.demo.shop.models import Order, Customer
    order = Order.objects.create(customer=Customer.objects.first(), total="3.00")
    with sigscope.trace() as t:
        await order_shipped.asend(sender=Order, order=order)
    display(t)
else:
    print("Django", django.get_version(), "has no async signals")""",
    ),
    (
        "md",
        """\
## Common uses

- notifications: e-mail or a webhook when an order ships (`order_shipped` in the demo);
- keeping derived data current after a save (`count_orders`, `reindex_tags` in the demo);
- initialisation after a save with `created=True` (a profile for a new user);
- decoupling apps: the blog reacts to shop events without importing the shop's views.

Prefer explicit function calls when the two pieces of code belong together: signals make the
flow invisible — which is what sigscope is for.""",
    ),
    (
        "md",
        """\
## See it flow

Everything above, at once: the live graph shows senders on the left, signals in the middle and
receivers on the right. Run the cell below, then the one after it: each receiver's link pulses
and counts as the demo's story runs. Hover a signal to see every receiver it reaches; click a
receiver to see where it is defined and connected.""",
    ),
    (
        "code",
        """\
live = sigscope.inspect(live=True)
live""",
    ),
    (
        "code",
        """\
sigscope.demo.run_scenario()
live.live.stop()
ran = live.graph.live["calls"]
print(len(ran), "registrations ran,", sum(ran.values()), "calls in all")""",
    ),
]


DUPLICATES = [
    (
        "md",
        """\
# Debugging duplicate registrations

A receiver that runs twice sends two e-mails, charges twice, or doubles a counter. The demo has
each kind of duplicate that sigscope detects. For each: see it, trace it, fix it, and watch the
finding disappear with `sigscope.diff`.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
before = sigscope.snapshot()
{f.kind for f in before.findings}""",
    ),
    (
        "md",
        """\
## Where to change it

Every registration knows the line that made it — its `@receiver` line or `.connect()` call — as
`connected_at`, read from a static scan of the source matched exactly by signal, receiver, sender
and `dispatch_uid`. A finding's `locations` list those connect sites first, then the receiver's
definition: for a duplicate, the two calls to change.""",
    ),
    (
        "code",
        """\
dup = next(f for f in before.findings if f.kind == "duplicate_dispatch_uid")
print(dup.message)
for where in dup.locations:
    print("  at", where)
[(r.dispatch_uid, r.connected_at) for r in before.receivers if r.receiver.name in dup.receivers]""",
    ),
    (
        "md",
        """\
Two *different* functions under one `dispatch_uid` on one signal are the opposite trap: Django
keys receivers by the uid, keeps the first and silently ignores the second connect.
sigscope reports it as `dispatch_uid_collision` (an error naming both functions, the uid and both
connect sites). A `disconnect()` in the source that undoes a declared receiver is a
`disconnected` note at the `disconnect()` line.""",
    ),
    (
        "md",
        """\
## 1. The same callable under two `dispatch_uid`s

`send_confirmation` was connected in `signals.py` with `dispatch_uid="shop.send_confirmation"`
and again in `ShopConfig.ready()` under the old uid: two lookup keys, two calls.""",
    ),
    (
        "code",
        """\
from sigscope.demo.shop.signals import order_placed, send_confirmation
from sigscope.demo.shop.models import Order, Customer

order = Order.objects.create(customer=Customer.objects.first(), total="5.00")
with sigscope.trace() as t:
    order_placed.send_robust(sender=Order, order=order)
t.receivers_called(order_placed).count("sigscope.demo.shop.signals.send_confirmation")""",
    ),
    (
        "code",
        """\
# in the inspector (with a kernel): both registrations, ⚠ and the fix in the details panel
sigscope.inspect(search="send_confirmation")""",
    ),
    (
        "code",
        """\
order_placed.disconnect(dispatch_uid="confirmation-email")       # the fix: one uid
after = sigscope.snapshot()
diff = sigscope.diff(before, after)
print([r.receiver.name for r in diff.removed])
assert "duplicate_dispatch_uid" not in {f.kind for f in after.findings}""",
    ),
    (
        "md",
        """\
## 2. One module imported under two names

The demo's project directory is on `sys.path` (as when `manage.py` sits beside the apps), and the
shop imports `blog.handlers` — so `blog/handlers.py` runs twice, as `blog.handlers` and as
`sigscope.demo.blog.handlers`, and each copy connects its receiver: same file and line, two
distinct functions.""",
    ),
    (
        "code",
        """\
alias = next(f for f in after.findings if f.kind == "duplicate_module_alias")
print(alias.message)
print("fix:", alias.fix)""",
    ),
    (
        "code",
        """\
import sys
from django.db.models.signals import m2m_changed
from sigscope.demo.blog.models import Post

m2m_changed.disconnect(sys.modules["blog.handlers"].reindex_tags, sender=Post.tags.through)
step = sigscope.snapshot()
assert "duplicate_module_alias" not in {f.kind for f in step.findings}
[r.receiver.name for r in sigscope.diff(after, step).removed]""",
    ),
    (
        "md",
        """\
## 3. `sender=None` plus a specific sender

`log_change` is connected for `shop.Order` and, in the blog's `ready()`, for every sender: it
runs twice each time an order is saved.""",
    ),
    (
        "code",
        """\
from django.db.models.signals import post_save
from sigscope.demo.shop.signals import log_change

with sigscope.trace(signals=[post_save]) as t:
    order.save()
print(t.receivers_called(post_save).count("sigscope.demo.shop.signals.log_change"), "calls")
post_save.disconnect(log_change, sender=Order)          # the any-sender one covers Order
step2 = sigscope.snapshot()
assert "duplicate_any_and_specific" not in {f.kind for f in step2.findings}""",
    ),
    (
        "md",
        """\
## 4. Registering code run twice

`webhooks.install()` makes a new closure each call and connects it strongly; the shop and the
blog both call it. Same code object, two function objects.""",
    ),
    (
        "code",
        """\
from sigscope.demo.shop.signals import order_shipped
rerun = next(f for f in step2.findings if f.kind == "duplicate_rerun")
print(rerun.message)
extra = [r for r in step2.signal(order_shipped).receivers if "post_webhook" in r.receiver.name]
len(extra)""",
    ),
    (
        "code",
        """\
# the fix in code is a dispatch_uid in install(); here, remove the second copy
live = [entry for entry in order_shipped.receivers]
webhooks = [e for e in live if getattr(e[1], "__qualname__", "").endswith("post_webhook")]
order_shipped.disconnect(webhooks[-1][1])
step3 = sigscope.snapshot()
assert "duplicate_rerun" not in {f.kind for f in step3.findings}""",
    ),
    (
        "md",
        """\
## 5. One method bound to several instances

Each warehouse reserves stock: `Warehouse.reserve` is connected once per instance. That may be
intended, so it is a *note*, not an error.""",
    ),
    (
        "code",
        "[(f.severity, f.message)\n"
        " for f in step3.findings if f.kind == 'bound_to_several_instances']",
    ),
    (
        "md",
        """\
## 6. A stale receiver after `importlib.reload`

`pricing.py` connects `apply_discount` with `weak=False`; `ShopConfig.ready()` reloads the module,
so the old function stays connected next to the new one.""",
    ),
    (
        "code",
        """\
from django.db.models.signals import pre_save
stale = [r for r in step3.signal(pre_save).receivers if r.stale]
print([r.receiver.name for r in stale])
current = sys.modules["sigscope.demo.shop.pricing"].apply_discount
old = next(e[1] for e in pre_save.receivers
           if e[1] is not current and getattr(e[1], "__qualname__", "") == "apply_discount")
pre_save.disconnect(old, sender=Order)
step4 = sigscope.snapshot()
assert "stale_reload" not in {f.kind for f in step4.findings}""",
    ),
    (
        "md",
        """\
## 7. A typo in a lazy sender

`post_save.connect(sync_to_erp, sender="shop.Ordr")` waits for a model that will never load: the
receiver never runs, and Django says nothing until its system check `signals.E001`.""",
    ),
    (
        "code",
        """\
typo = next(f for f in step4.findings if f.kind == "pending_unresolved")
print(typo.message)
print("fix:", typo.fix)""",
    ),
    (
        "md",
        """\
## 8. A `@receiver` module that is never imported

`shop/unused_handlers.py` declares a receiver, but nothing imports the module. sigscope finds it
by parsing the project's source — it never imports it.""",
    ),
    (
        "code",
        """\
unused = next(f for f in step4.findings if f.kind == "not_connected")
print(unused.message)
print("fix:", unused.fix)
assert "sigscope.demo.shop.unused_handlers" not in sys.modules""",
    ),
    (
        "md",
        """\
## What is left

Every duplicate fixed above is gone. Disconnecting at run time is only a demonstration: sigscope
now also says that the `@receiver` on `log_change` is declared but not connected — the real fix
belongs in the source. The rest (dead receivers, DEBUG-only ones, the typo, the unused module,
the falsy `dispatch_uid`, the several instances) is for you to fix in the demo's source.""",
    ),
    (
        "code",
        """\
fixed = {"duplicate_dispatch_uid", "duplicate_module_alias", "duplicate_any_and_specific",
         "duplicate_rerun", "stale_reload"}
assert fixed <= {f.kind for f in before.findings}
assert not fixed & {f.kind for f in step4.findings}
step4.findings""",
    ),
]


TRACING = [
    (
        "md",
        """\
# Tracing and performance

What runs when a model is saved, which receiver is slow, what happens when one raises, and a live
view while a loop creates objects.""",
    ),
    ("code", SETUP),
    (
        "md",
        """\
## What runs when an order is saved and shipped

The demo's scenario places an order, ships it (the `post_save` receiver `notify_shipped` sends
`order_shipped` — a nested send), tags and publishes a post, and deletes an order.""",
    ),
    (
        "code",
        """\
with sigscope.trace(exclude=["pre_migrate", "post_migrate"]) as t:
    sigscope.demo.run_scenario()
print(t.summary_text())""",
    ),
    (
        "code",
        """\
shipped = t.sends("order_shipped")[0]
parent = next(e for e in t.events if e.id == shipped.parent[0])
print(parent.signal, "→", parent.calls[shipped.parent[1]].name, "→", shipped.signal)""",
    ),
    (
        "md",
        """\
## What nobody heard

Sends that reached no receiver are not events; the trace counts them per signal and sender
(`pre_init`/`post_init` fire for every model instance, most with nobody listening).""",
    ),
    (
        "code",
        """\
for u in t.unheard[:6]:
    print(f"{u.count:>4} × {u.signal.rpartition('.')[2]}({u.sender})")""",
    ),
    (
        "md",
        """\
## Slow receivers, from the timings

`update_search_index` stands in for a call to a search engine. `t.show()` draws the waterfall:
every receiver on one time axis, nested sends below the receiver that made them. Hover a bar for
its kwargs and result, click it for the details, drag across the time axis to zoom in (double-click
to zoom out). The **cascade** tab answers "what runs when I save an Order": `post_save ←
shop.Order`, its receivers, the `order_shipped` that `notify_shipped` sends, and its receivers,
with counts and total time.""",
    ),
    (
        "code",
        """\
signals, receivers = t.summary()
slowest = receivers[0]
print(f"slowest: {slowest.receiver}: {slowest.calls} calls, {slowest.total_ns / 1e6:.2f} ms")
view = t.show()
view""",
    ),
    (
        "code",
        """\
# what you clicked, as a record (None until you click a bar)
print("selected:", view.selected)""",
    ),
    (
        "md",
        """\
## Exceptions under `send` and `send_robust`

Under `send()` the first exception propagates and the remaining receivers are skipped; under
`send_robust()` every receiver runs and the exceptions come back as results (and are logged).
The trace records the exception type, message and traceback either way.""",
    ),
    (
        "code",
        """\
from django.dispatch import Signal
checked = Signal()
def first(sender, **kwargs): return 1
def broken(sender, **kwargs): raise ValueError("bad total")
def last(sender, **kwargs): return 3
for f in (first, broken, last):
    checked.connect(f, weak=False)
with sigscope.trace() as t2:
    try:
        checked.send(sender=None)
    except ValueError:
        pass
    checked.send_robust(sender=None)
[[(c.name.rpartition(".")[2], c.result, c.error and c.error.type) for c in e.calls]
 for e in t2.events]""",
    ),
    (
        "md",
        """\
## What did not fire: bypassed signals and `on_commit` callbacks

`QuerySet.bulk_create`, `bulk_update` and `update()` send no `pre_save`/`post_save`, and a raw
delete no `pre_delete`/`post_delete`. On a model with receivers for them, the trace lists each
such call in `t.bypassed`: which receivers did not run, and the line that made the call. The
demo's scenario imports two orders with `bulk_create`, and its `count_orders` receiver updates the
customer with `update()`.

`transaction.on_commit` callbacks registered by a receiver are in `t.on_commit`: `ran` is `True`
when the transaction committed, `False` when it rolled back and Django discarded the callback.
The demo's last checkout is rolled back (payment declined): its confirmation e-mail never goes
out, twice over, since `send_confirmation` is connected twice.""",
    ),
    (
        "code",
        """\
for b in t.bypassed:
    print(f"{b.operation} {b.model} ×{b.rows}: {len(b.receivers)} receiver(s) skipped, at",
          f"{b.file.rpartition('sigscope/')[2]}:{b.line}")
[(c.callback.rpartition(".")[2], c.registered_by, c.ran) for c in t.on_commit]""",
    ),
    (
        "code",
        """\
print("\\n".join(line for line in t.tree().splitlines() if "⤼" in line or "⏲" in line))""",
    ),
    (
        "md",
        """\
## The live monitor

The monitor counts sends per signal and calls per receiver while code runs — here a background
thread creating customers. It updates at most ten times a second, whatever the send rate.""",
    ),
    (
        "code",
        """\
import threading, time
from sigscope.demo.shop.models import Customer
m = sigscope.monitor(exclude=["pre_init", "post_init"])
def create_customers():
    for i in range(200):
        Customer.objects.create(name=f"c{i}", email=f"c{i}@example.com")
        time.sleep(0.002)
worker = threading.Thread(target=create_customers)
worker.start()
m""",
    ),
    (
        "code",
        """\
worker.join()
time.sleep(0.3)
m.stop()
assert m.tracer.total >= 200
print(m.tracer.total, "sends recorded,", m.updates, "widget updates")""",
    ),
    (
        "md",
        """\
## The same sends as OpenTelemetry spans

`sigscope.otel.export(t)` replays a recorded trace as spans (with the recorded times);
`sigscope.otel.instrument()` emits them live, under the current span (a request span of
OpenTelemetry's Django instrumentation, a task span). Here the demo scenario's spans go to
the SDK's in-memory exporter: one `send <signal>` span per send, a `receive <signal>` span
per receiver call, and `order_shipped` under the `post_save` receiver that sent it.""",
    ),
    (
        "code",
        """\
import sigscope.otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
print(sigscope.otel.export(t, tracer_provider=provider), "spans")
spans = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
by_id = {s.context.span_id: s for s in spans}
children = {}
for s in spans:
    children.setdefault(s.parent.span_id if s.parent else None, []).append(s)
def show(span, depth=0):
    where = span.attributes.get("code.function.name") or span.attributes["django.signal.sender"]
    print("  " * depth + f"{span.name}  {where}")
    for child in children.get(span.context.span_id, []):
        show(child, depth + 1)
shipped_span = next(s for s in spans if s.name == "send order_shipped")
root = shipped_span
while root.parent is not None:
    root = by_id[root.parent.span_id]
assert by_id[shipped_span.parent.span_id].name == "receive post_save"
show(root)  # the post_save of the shipped order, and the send its receiver made""",
    ),
]


OWN_PROJECT = [
    (
        "md",
        """\
# Your own project

Point sigscope at an existing Django project: from a notebook, in a terminal, in CI and in its
tests. This notebook uses the demo's settings module; put yours in its place.""",
    ),
    (
        "md",
        """\
## From a notebook

Start the notebook where your project's `manage.py` is (or add that directory to `sys.path`),
then set Django up with your settings module. In a kernel an event loop is running, so
`sigscope.setup()` also sets `DJANGO_ALLOW_ASYNC_UNSAFE=true` to allow ORM calls from cells, and
warns that it did (never do that in a server).""",
    ),
    (
        "code",
        """\
import sigscope
sigscope.setup("sigscope.demo.settings")     # e.g. sigscope.setup("mysite.settings")
import os
os.environ["DJANGO_SETTINGS_MODULE"], os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")""",
    ),
    (
        "md",
        """\
If Django is already set up (e.g. `shell_plus --notebook`, or `django.setup()` in your first
cell), skip `setup()`. The IPython extension adds magics:""",
    ),
    ("code", "%load_ext sigscope"),
    ("code", "%sigscope check"),
    (
        "md",
        """\
## Where signals are sent, and where saves skip them

The source scan (it parses your apps, never imports them) also finds every
`signal.send(...)`/`send_robust`/`asend`/`asend_robust` call, with the `sender=` as written,
and every `bulk_create()`, `bulk_update()` and `QuerySet.update()` on a model. Real projects
often import receiver modules from the URLconf: `load_urlconf=True` loads it first, as
Django's `check` does (the `sigscope` command always does, unless `--no-urlconf`).""",
    ),
    (
        "code",
        """\
snap = sigscope.snapshot(load_urlconf=True)
for signal in snap.signals:
    for site in signal.sent_from:
        print(f"{signal.name.rpartition('.')[2]:<15} {site.method:<12} sender={site.sender!s:<6}"
              f" in {site.function} ({site.file.rpartition('/')[2]}:{site.line})")""",
    ),
    (
        "md",
        """\
Three notes come from these sites: a project signal with receivers that nothing sends
(`never_sent`), a signal sent that nothing receives (`never_received`), and a bulk write on a
model with save receivers, which will not run for those rows (`bypasses_signals`).""",
    ),
    (
        "code",
        """\
for f in snap.findings:
    if f.kind in ("never_sent", "never_received", "bypasses_signals"):
        print(f"{f.kind}: {f.message}\\n  fix: {f.fix}\\n")""",
    ),
    (
        "md",
        """\
`%sigscope inspect --app shop`, `%sigscope monitor`, `%sigscope trace order.save()` and the cell
magic `%%sigscope_trace` show the widgets.

## In a terminal and in CI

`sigscope check` exits 1 when there is a warning or an error (`--fail-on error` to relax it);
`--format github` prints GitHub Actions annotations.""",
    ),
    (
        "code",
        """\
import subprocess, sys
result = subprocess.run(
    [sys.executable, "-m", "sigscope.cli", "check", "--settings", "sigscope.demo.settings",
     "--min-severity", "error", "--format", "github"],
    capture_output=True, text=True)
print("exit code", result.returncode)
print(result.stdout[:800])""",
    ),
    (
        "md",
        """\
A GitHub Actions step:

```yaml
- run: sigscope check --settings mysite.settings --format github
```

With `"sigscope"` in `INSTALLED_APPS`, `python manage.py sigscope check` does the same.

## In your tests: the pytest plugin

Installing sigscope registers a pytest plugin. The `signal_trace` fixture records every send of a
test:

```python
def test_order_ships(signal_trace, order):
    ship(order)
    signal_trace.assert_sent(order_shipped, sender=Order)
    assert "shop.signals.notify_customer" in signal_trace.receivers_called(order_shipped)
```

and `pytest --sigscope-check` fails the session when a receiver is registered twice.

## What runs for a model, and only your code

`triggered_by(graph, "app.Model")` lists the receivers that run when that model is the sender —
model signals only (and custom signals whose send sites pass the model), never
`request_started` or `setting_changed`. Findings about Django's own receivers are left out
unless you ask (`sigscope check --include-builtin`, `snapshot(include_builtin=True)`), and no
export holds a memory address, so two runs give identical files to diff in CI.""",
    ),
    (
        "code",
        """\
from sigscope.graph import triggered_by
snap = sigscope.snapshot()
triggered_by(snap.graph, "shop.Order")""",
    ),
    (
        "code",
        """\
loud = sigscope.snapshot(include_builtin=True)
print(len(snap.findings), "findings on your code;",
      len(loud.findings) - len(snap.findings), "more on Django's own receivers")""",
    ),
]


#: Simplified Chinese text of the Signals 101 markdown cells (by cell index); code is unchanged.
SIGNALS_101_ZH = {
    0: """\
# 信号入门（Signals 101）

Django 的信号分发器让彼此解耦的代码能够对事件作出反应。**发送者**（sender）发送一个**信号**
（signal），所有连接到该信号的**接收者**（receiver）都会被调用——可以只针对某个发送者，
也可以针对任意发送者。下面的每个概念都用 sigscope 的检查器（inspector）和追踪器（tracer）
现场演示。""",
    2: """\
## 内置的模型信号

保存模型时发送 `pre_save` 和 `post_save`，删除时发送 `pre_delete` 和 `post_delete`，
修改多对多关系时发送 `m2m_changed`（两次：先 `pre_add`，再 `post_add`）。
发送者是模型类（对 `m2m_changed` 而言，是中间的 "through" 模型）。""",
    5: """\
## 请求信号

Django 的请求处理器在视图运行之前发送 `request_started`，在响应发出之后发送
`request_finished`。它们的接收者包括 Django 自己的（`close_old_connections`）。""",
    7: """\
## `Signal.connect(receiver, sender=None, weak=True, dispatch_uid=None)`

- `receiver`：任何接受 `sender` 和 `**kwargs` 的可调用对象（`DEBUG=True` 时 Django 会检查
  `**kwargs`）。
- `sender`：只有来自这个发送者的信号才会到达接收者（`None` 表示任意发送者）。对模型信号，
  它可以是模型类，也可以是惰性的 `"app_label.ModelName"` 字符串。
- `weak`：Django 默认只保存弱引用：没有其他引用的接收者会被垃圾回收，并且悄无声息地不再运行。
- `dispatch_uid`：唯一的键；用同一个键再次连接不会产生任何效果。""",
    9: """\
## `@receiver` 装饰器

`@receiver(signal, **connect_options)` 会连接它所装饰的函数；它也接受一个信号列表。
演示项目的 blog 把一个函数连接到了两个信号：""",
    11: """\
## 在 `AppConfig.ready()` 中连接

接收者所在的模块必须被导入，其中的接收者才会被连接。Django 推荐的位置是应用的
`AppConfig.ready()`：它在所有模型加载完之后只运行一次。演示项目的 shop 就是这样做的
（并且故意犯了几个错误，sigscope 会把它们找出来）：""",
    13: """\
## 按发送者过滤，以及 `post_save` 的参数

`post_save` 的接收者会收到 `sender`（模型类）、`instance`、`created`、`update_fields`
（传给 `save(update_fields=...)` 的集合，或 `None`）、`raw`（加载 fixture 时为 `True`）
以及 `using`（数据库别名）。""",
    16: """\
## 自定义信号、`send` 与 `send_robust`

自定义信号就是一个 `Signal()` 实例。`send()` 按顺序调用接收者，第一个异常会直接抛出，
后面的接收者不再运行。`send_robust()` 会捕获 `Exception`、记录日志，并把异常作为该接收者的
结果返回：所有接收者都会运行。""",
    19: """\
## 弱引用，以及为什么 `DEBUG=True` 会掩盖问题

在函数内部定义、以弱引用方式连接的接收者，在函数返回后就没有其他引用了：它会被垃圾回收，
永远不会运行。在 `DEBUG=True` 时，Django 的 `connect` 会通过一个缓存检查接收者的签名，
而这个缓存让它一直存活——所以它在开发环境中正常工作，到了生产环境却消失了。""",
    21: """\
## `dispatch_uid` 防止重复注册

用同一个发送者把同一个函数连接两次本来就不会生效（查找键相同）；但每次都创建*新*函数的代码
（闭包、lambda、被重新加载的模块）会被一次又一次地连接。`dispatch_uid` 让这个键保持稳定。""",
    23: """\
## 异步接收者与 `asend`（Django ≥ 5.0）

从 Django 5.0 开始，接收者可以是 `async def`。`await signal.asend(...)` 会运行同步接收者
（在线程中）和异步接收者；`send()` 则通过 `async_to_sync` 运行异步接收者，而这在正在运行
事件循环的线程里无法工作——比如 notebook 的单元格：请使用 `await asend()`。在 Django 4.2
中，异步接收者永远不会被 await（sigscope 会报告这一点）。""",
    25: """\
## 常见用途

- 通知：订单发货时发送邮件或 webhook（演示项目中的 `order_shipped`）；
- 保存之后保持派生数据最新（演示项目中的 `count_orders`、`reindex_tags`）；
- 在 `created=True` 的保存之后做初始化（为新用户创建资料）；
- 解耦应用：blog 对 shop 的事件作出反应，而无需导入 shop 的视图。

如果两段代码本来就属于一起，请优先使用显式的函数调用：信号会让程序流程变得不可见——
这正是 sigscope 存在的原因。""",
    26: """\
## 看它流动

上面的一切同时呈现：实时图的左边是发送者，中间是信号，右边是接收者。先运行下面的单元格，
再运行它后面的那个：演示项目的故事运行时，每个接收者的连线都会闪动并计数。把鼠标悬停在
某个信号上，可以看到它能到达的所有接收者；点击一个接收者，可以看到它在哪里定义、在哪里连接。""",
}
