"""Run Django's own signal-related test suites with and without a sigscope Tracer.

Run:  python tools/django_suite.py        (exit 0: tracing changed no outcome)

The installed Django's sdist is downloaded from PyPI once (``pip download``) and
its ``tests/`` directory extracted, both under ``.ci-cache/django-sdist/`` in the
repository root, so CI reruns reuse them.  ``tests/runtests.py <APPS> <LABELS>
--parallel 1 -v 2`` then runs twice in a subprocess of this interpreter.  The
apps: ``dispatch``, ``signals``, ``m2m_signals``, ``delete``, ``handlers``,
``context_processors``, ``settings_tests``; the labels: ``admin_views`` tests
that count queries while templates render (``template_rendered(context=...)``
must not evaluate the querysets in the context: ``assertNumQueries`` holds):

* **plain**: exactly as Django's CI runs it;
* **traced**: a ``Tracer(max_events=1000)`` is started before ``runtests.py``
  does anything (a ``python -c`` bootstrap starts it, then runs the script with
  ``runpy``), and the number of sends it recorded is printed at exit.

Every test that passes in the plain run must pass in the traced run; the traced
run must have recorded at least one send.  Exit 1 otherwise (2: the suite could
not be run or its output not understood).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".ci-cache" / "django-sdist"
APPS = (
    "dispatch",
    "signals",
    "m2m_signals",
    "delete",
    "handlers",
    "context_processors",
    "settings_tests",
)
#: Single tests (the whole admin_views suite is too long for CI), by label.
LABELS = (
    "admin_views.tests.AdminCustomQuerysetTest.test_changelist_view_count_queries",
    "admin_views.tests.AdminSearchTest.test_no_total_count",
    "admin_views.tests.AdminSearchTest.test_reset_link",
    "admin_views.tests.GroupAdminTest.test_group_permission_performance",
    "admin_views.tests.UserAdminTest.test_user_permission_performance",
)
RUNTESTS_ARGS = (*APPS, *LABELS, "--parallel", "1", "-v", "2")
EVENTS_MARK = "SIGSCOPE-TRACED-EVENTS"
#: Modules runtests.py imports for these two apps beyond Django itself (module -> pip name).
EXTRA_MODULES: dict[str, str] = {}
TIMEOUT = 900

BOOTSTRAP = f"""
import atexit, os, runpy, sys
tests_dir = sys.argv[1]
script = os.path.join(tests_dir, "runtests.py")
sys.argv = [script, *sys.argv[2:]]
sys.path[0] = tests_dir
from sigscope.tracing import Tracer
tracer = Tracer(max_events=1000)
tracer.start()
def _report():
    seen = len(tracer.events) + tracer.dropped
    print("{EVENTS_MARK}", seen, "kept=%d" % len(tracer.events), flush=True)
atexit.register(_report)
runpy.run_path(script, run_name="__main__")
"""

# ``test_x (app.module.Class.test_x)`` (Python 3.11+) or ``test_x (app.module.Class)``,
# optionally followed by a subtest's ``[...]`` / ``(...)`` parameters.
TEST_LINE = re.compile(r"^(?P<indent>\s*)(?P<name>\w+) \((?P<where>[\w.]+)\)(?P<params> .*?)?$")
STATUS = re.compile(
    r"^(?:(?P<ok>ok)|(?P<fail>FAIL)|(?P<error>ERROR)|(?P<skip>skipped\b.*)"
    r"|(?P<xfail>expected failure)|(?P<xpass>unexpected success))\s*$"
)
RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)


def log(message: str = "") -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- getting the suite


def sdist_tests_dir(version: str) -> Path:
    """The extracted ``tests/`` directory of Django ``version``'s sdist (downloaded once)."""
    target = CACHE / f"django-{version}" / "tests"
    if (target / "runtests.py").is_file():
        log(f"using cached {target.relative_to(ROOT)}")
        return target
    archive = find_archive(version)
    if archive is None:
        CACHE.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"django=={version}",
            "-d",
            str(CACHE),
        ]
        log("$ " + " ".join(command))
        subprocess.run(command, check=True)
        archive = find_archive(version)
        if archive is None:
            raise SystemExit(f"pip download left no Django {version} sdist in {CACHE}")
    else:
        log(f"using cached {archive.relative_to(ROOT)}")
    extract_tests(archive, target)
    log(f"extracted tests/ to {target.relative_to(ROOT)}")
    return target


def find_archive(version: str) -> Path | None:
    if not CACHE.is_dir():
        return None
    for path in sorted(CACHE.iterdir()):
        if path.name.lower() == f"django-{version}.tar.gz":
            return path
    return None


def extract_tests(archive: Path, target: Path) -> None:
    """Extract only ``<top>/tests/`` of ``archive`` to ``target`` (atomically)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="extract-", dir=target.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = []
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) < 3 or parts[1] != "tests":
                    continue
                if member.issym() or member.islnk() or ".." in parts or member.name.startswith("/"):
                    continue
                member.name = "/".join(parts[1:])
                members.append(member)
            if not members:
                raise SystemExit(f"{archive.name} has no tests/ directory")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(scratch, members=members, filter="data")
            else:  # Python < 3.10.12 / 3.11.4: the checks above are the filter
                tar.extractall(scratch, members=members)
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch / "tests", target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def install_extras() -> None:
    missing = sorted(
        {pip for module, pip in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None}
    )
    if not missing:
        return
    command = [sys.executable, "-m", "pip", "install", "--quiet", *missing]
    log(f"installing what runtests.py needs for {', '.join(APPS)}: {', '.join(missing)}")
    log("$ " + " ".join(command))
    subprocess.run(command, check=True)


# --------------------------------------------------------------------------- running


class Run:
    def __init__(self, label: str, returncode: int, stdout: str, stderr: str, seconds: float):
        self.label = label
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.outcomes, self.details = parse_outcomes(stderr)
        ran = RAN.findall(stderr)
        self.ran = int(ran[-1]) if ran else None

    def counts(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[k]} {k}" for k in ("ok", "FAIL", "ERROR", "skipped", "xfail", "xpass")]
        parts = [p for p in parts if not p.startswith("0 ")]
        return (
            f"{self.label:>6}: {len(self.outcomes)} tests ({', '.join(parts) or 'none'}); "
            f"runtests exit {self.returncode}; {self.seconds:.1f}s"
        )


def run_suite(tests_dir: Path, traced: bool) -> Run:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # runtests.py would use it over test_sqlite
    env["PYTHONUNBUFFERED"] = "1"
    if traced:
        command = [sys.executable, "-c", BOOTSTRAP, str(tests_dir), *RUNTESTS_ARGS]
    else:
        command = [sys.executable, str(tests_dir / "runtests.py"), *RUNTESTS_ARGS]
    label = "traced" if traced else "plain"
    shown = ["python", "-c", "<bootstrap>", "<tests>"] if traced else ["python", "runtests.py"]
    log(f"[{label}] $ {' '.join(shown + list(RUNTESTS_ARGS))}")
    start = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=tests_dir,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT,
    )
    return Run(label, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


# --------------------------------------------------------------------------- parsing


def test_key(name: str, where: str) -> str:
    # Python 3.11+ prints the full id; earlier versions print the class only.
    return where if where.endswith("." + name) else f"{where}.{name}"


def status_of(text: str) -> str | None:
    match = STATUS.match(text.strip())
    if match is None:
        return None
    kind = match.lastgroup
    return {"ok": "ok", "fail": "FAIL", "error": "ERROR", "skip": "skipped"}.get(kind, kind)


def parse_outcomes(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """Per-test outcomes from unittest's ``-v 2`` stream, and the failure reports by test.

    Handles the status on the same line (``test_x (m.C.test_x) ... ok``), after a
    docstring line, and after output the test printed.  A failing subtest makes its
    test FAIL/ERROR.
    """
    outcomes: dict[str, str] = {}
    current: str | None = None
    lines = text.splitlines()
    report_start = len(lines)
    for index, line in enumerate(lines):
        if line.startswith(("=" * 70, "-" * 70)):
            report_start = index
            break
        match = TEST_LINE.match(line.split(" ... ", 1)[0])
        if match is not None:
            key = test_key(match["name"], match["where"])
            is_subtest = bool(match["indent"]) or bool(match["params"])
            if not is_subtest or current is None:
                current = key
        if current is None:
            continue
        _, sep, tail = line.rpartition(" ... ")
        status = status_of(tail) if sep else (None if match else status_of(line))
        if status is None:
            continue
        if outcomes.get(current) in ("FAIL", "ERROR"):
            continue  # a subtest failed: the test failed whatever follows
        outcomes[current] = status
        if not (match and (match["indent"] or match["params"])):
            current = None
    return outcomes, parse_reports(lines[report_start:])


def parse_reports(lines: list[str]) -> dict[str, str]:
    """The ``FAIL: test_x (m.C.test_x)`` / ``ERROR: ...`` reports, by test."""
    header = re.compile(r"^(?:FAIL|ERROR|UNEXPECTED SUCCESS): (\w+) \(([\w.]+)\)")
    reports: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        match = header.match(lines[index + 1]) if index + 1 < len(lines) else None
        if not (lines[index].startswith("=" * 70) and match):
            index += 1
            continue
        end = index + 2
        while end < len(lines) and not lines[end].startswith("=" * 70):
            following = lines[end + 1] if end + 1 < len(lines) else ""
            if lines[end].startswith("-" * 70) and following.startswith("Ran "):
                break
            end += 1
        key = test_key(*match.groups())
        reports.setdefault(key, []).append("\n".join(lines[index + 1 : end]).rstrip())
        index = end
    return {key: "\n\n".join(texts) for key, texts in reports.items()}


def traced_events(run: Run) -> int | None:
    match = re.search(rf"^{EVENTS_MARK} (\d+)", run.stdout, re.MULTILINE)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- main


def check_parsed(run: Run) -> bool:
    if not run.outcomes:
        log(f"[{run.label}] no test outcomes found in the output")
        return False
    if run.ran is not None and run.ran != len(run.outcomes):
        log(f"[{run.label}] parsed {len(run.outcomes)} outcomes but unittest ran {run.ran} tests")
        return False
    return True


def dump(run: Run) -> None:
    log(f"----- [{run.label}] stdout (tail) -----")
    log("\n".join(run.stdout.splitlines()[-40:]))
    log(f"----- [{run.label}] stderr (tail) -----")
    log("\n".join(run.stderr.splitlines()[-80:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print both runs' full output")
    args = parser.parse_args(argv)

    version = django.get_version()
    py = ".".join(map(str, sys.version_info[:3]))
    log(f"Django {version} on Python {py} ({sys.executable})")
    tests_dir = sdist_tests_dir(version)
    install_extras()

    plain = run_suite(tests_dir, traced=False)
    traced = run_suite(tests_dir, traced=True)
    if args.verbose:
        dump(plain)
        dump(traced)

    log("")
    log(f"Django {version}, Python {py}: tests/{' tests/'.join(APPS)} + {len(LABELS)} admin_views")
    log(plain.summary())
    log(traced.summary())
    events = traced_events(traced)
    log(f"tracer recorded {events if events is not None else 'no report of its'} sends")

    if not (check_parsed(plain) and check_parsed(traced)):
        for run in (plain, traced):
            if not args.verbose:
                dump(run)
        return 2

    differ = sorted(
        key
        for key in plain.outcomes.keys() | traced.outcomes.keys()
        if plain.outcomes.get(key) != traced.outcomes.get(key)
    )
    broken = [key for key in differ if plain.outcomes.get(key) == "ok"]
    for key in differ:
        log(f"  differs: {key}: plain {plain.outcomes.get(key)}, traced {traced.outcomes.get(key)}")
    baseline_bad = sorted(k for k, v in plain.outcomes.items() if v in ("FAIL", "ERROR"))
    for key in baseline_bad:
        log(f"  fails without tracing too (not counted): {key}")
    for key in broken:
        log("")
        log(f"===== broken by tracing: {key} =====")
        log(traced.details.get(key, "(no failure report found)"))

    ok = True
    if events is None or events <= 0:
        log("FAIL: the traced run did not report a positive number of recorded sends")
        ok = False
    if broken:
        log(f"FAIL: {len(broken)} test(s) pass without tracing but not with it")
        ok = False
    if ok:
        log(f"OK: all {plain.counts()['ok']} passing tests also pass under tracing")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
