"""The ``sigscope`` command and ``manage.py sigscope``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

DEMO = "sigscope.demo.settings"


def run(*args: str, cwd: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "sigscope.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


def test_inspect_text_lists_signals_senders_and_receivers():
    result = run("inspect", "--settings", DEMO)
    assert result.returncode == 0, result.stderr
    assert "django.db.models.signals.post_save" in result.stdout
    assert "shop.Order" in result.stdout
    assert "Pending lazy senders" in result.stdout


def test_inspect_json_follows_schema_1():
    result = run("inspect", "--settings", DEMO, "--format", "json")
    document = json.loads(result.stdout)
    assert document["schema"] == 1
    names = [s["name"] for s in document["signals"]]
    assert "django.db.models.signals.post_save" in names
    assert any(f["kind"] == "pending_unresolved" for f in document["findings"])


@pytest.mark.parametrize("fmt, marker", [("dot", "digraph sigscope"), ("graphml", "<graphml")])
def test_inspect_graph_formats(fmt, marker):
    result = run("inspect", "--settings", DEMO, "--format", fmt)
    assert result.returncode == 0 and marker in result.stdout


def test_inspect_filters_by_app_and_signal():
    result = run(
        "inspect", "--settings", DEMO, "--format", "json", "--signal", "post_save", "--app", "shop"
    )
    document = json.loads(result.stdout)
    assert [s["name"] for s in document["signals"]] == ["django.db.models.signals.post_save"]
    receivers = document["signals"][0]["receivers"]
    assert receivers and all(
        "shop" in r["receiver"].split(".") or (r["sender"] or "").startswith("shop.")
        for r in receivers
    )


def test_check_exits_1_on_findings_and_respects_min_severity():
    result = run("check", "--settings", DEMO)
    assert result.returncode == 1
    assert "ERROR" in result.stdout and "fix:" in result.stdout
    only_errors = run("check", "--settings", DEMO, "--min-severity", "error", "--format", "json")
    severities = {f["severity"] for f in json.loads(only_errors.stdout)["findings"]}
    assert severities == {"error"}


def test_check_github_annotations():
    result = run("check", "--settings", DEMO, "--format", "github")
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(("::error", "::warning", "::notice")) for line in lines)
    assert any("file=" in line and ",line=" in line for line in lines)


def test_unknown_settings_module_is_one_line_exit_2():
    result = run("inspect", "--settings", "no_such_settings_module")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "cannot import settings module 'no_such_settings_module'" in result.stderr


def test_app_that_fails_to_import_is_one_line_exit_2(tmp_path):
    (tmp_path / "broken_settings.py").write_text(
        textwrap.dedent(
            """
            SECRET_KEY = "x"
            INSTALLED_APPS = ["django.contrib.contenttypes", "brokenapp"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
            """
        )
    )
    (tmp_path / "brokenapp").mkdir()
    (tmp_path / "brokenapp" / "__init__.py").write_text("raise RuntimeError('boom at import')\n")
    result = run("check", "--settings", "broken_settings", "--pythonpath", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "boom at import" in result.stderr
    assert result.stderr.count("\n") == 1


def test_no_settings_at_all_is_exit_2():
    result = run("inspect")
    assert result.returncode == 2 and "--settings" in result.stderr


def test_management_command_does_the_same():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": DEMO}
    result = subprocess.run(
        [sys.executable, "-m", "sigscope.demo.manage", "sigscope", "check", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    cli = json.loads(run("check", "--settings", DEMO, "--format", "json").stdout)
    assert [f["kind"] for f in document["findings"]] == [f["kind"] for f in cli["findings"]]
    inspect = subprocess.run(
        [sys.executable, "-m", "sigscope.demo.manage", "sigscope", "inspect"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert inspect.returncode == 0 and "post_save" in inspect.stdout


def test_demo_command_prints_and_writes_the_graph(tmp_path):
    out = tmp_path / "out"
    result = run("demo", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "Findings" in result.stdout and "duplicate_module_alias" in result.stdout
    assert json.loads((out / "signals.json").read_text())["schema"] == 1
    assert (out / "signals.graphml").read_text().startswith("<?xml")
    assert (out / "signals.dot").read_text().startswith("digraph")


# --- issue 9: the URLconf, input checks, plurals ---------------------------------------

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
URLCONF_PROJECT = os.path.join(FIXTURES, "urlconf_project")


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("sigscope: error: ") and result.stderr.count("\n") == 1
    return result.stderr


def test_the_urlconf_is_loaded_so_receivers_it_imports_are_connected():
    args = ("check", "--settings", "urlconf_settings", "--pythonpath", URLCONF_PROJECT)
    loaded = run(*args, "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["findings"] == []
    text = run(*args)
    assert text.stdout.rstrip().endswith("0 findings · URLconf loaded")
    skipped = run(*args, "--no-urlconf")
    assert skipped.stdout.rstrip().endswith("URLconf not loaded (--no-urlconf)")
    assert "not_connected" in skipped.stdout and "polls.receivers.question_saved" in skipped.stdout


def test_the_management_command_loads_the_urlconf_too(tmp_path):
    (tmp_path / "with_sigscope.py").write_text(
        "from urlconf_settings import *  # noqa: F403\nINSTALLED_APPS += ['sigscope']  # noqa\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "with_sigscope"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), URLCONF_PROJECT, env.get("PYTHONPATH", "")])
    manage = (
        "import sys; from django.core.management import execute_from_command_line as e; e(sys.argv)"
    )
    result = subprocess.run(
        [sys.executable, "-c", manage, "sigscope", "inspect", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    signals = {s["name"]: s for s in json.loads(result.stdout)["signals"]}
    receivers = [r["receiver"] for r in signals["django.db.models.signals.post_save"]["receivers"]]
    assert "polls.receivers.question_saved" in receivers


def test_python_api_loads_the_urlconf_only_when_asked():
    code = (
        "import sigscope; sigscope.setup('urlconf_settings')\n"
        "names = lambda s: [r.receiver.name for r in s.receivers]\n"
        "first = sigscope.snapshot()\n"
        "second = sigscope.snapshot(load_urlconf=True)\n"
        "print(first.urlconf, '|', second.urlconf)\n"
        "print('polls.receivers.question_saved' in names(first), "
        "'polls.receivers.question_saved' in names(second))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([URLCONF_PROJECT, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["URLconf not loaded | URLconf loaded", "False True"]


def test_a_urlconf_that_fails_is_one_line_exit_2(tmp_path):
    (tmp_path / "bad_urls.py").write_text("raise ValueError('no patterns here')\n")
    (tmp_path / "bad_settings.py").write_text(
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.contenttypes']\n"
        "ROOT_URLCONF = 'bad_urls'\n"
    )
    args = ("check", "--settings", "bad_settings", "--pythonpath", str(tmp_path))
    error = _one_line_error(run(*args))
    assert "the URLconf bad_urls failed to load: ValueError: no patterns here" in error
    assert "--no-urlconf" in error
    assert run(*args, "--no-urlconf").returncode == 0


def test_a_failing_ready_names_the_app_and_the_line(tmp_path):
    (tmp_path / "ready_settings.py").write_text(
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.contenttypes', 'flaky']\n"
    )
    (tmp_path / "flaky").mkdir()
    (tmp_path / "flaky" / "__init__.py").write_text("")
    (tmp_path / "flaky" / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass FlakyConfig(AppConfig):\n"
        "    name = 'flaky'\n\n    def ready(self):\n        from . import handlers\n"
    )
    (tmp_path / "flaky" / "handlers.py").write_text("x = 1\nraise KeyError('REDIS_URL')\n")
    error = _one_line_error(
        run("check", "--settings", "ready_settings", "--pythonpath", str(tmp_path))
    )
    assert "app 'flaky': FlakyConfig.ready() failed at " in error
    assert "flaky/handlers.py:2: KeyError: 'REDIS_URL'" in error


@pytest.mark.parametrize(
    "option, wanted, suggestion",
    [("--signal", "post_sav", "'post_save'"), ("--app", "shpo", "'shop'")],
)
def test_unknown_filters_are_exit_2_with_did_you_mean(option, wanted, suggestion):
    for command in ("inspect", "check"):
        error = _one_line_error(run(command, "--settings", DEMO, option, wanted))
        assert f"{option} {wanted}: no such" in error and f"did you mean {suggestion}" in error


def test_known_filters_still_work_by_short_name_module_and_label():
    for args in (("--signal", "order_shipped"), ("--app", "blog"), ("--app", "sigscope.demo.shop")):
        assert run("inspect", "--settings", DEMO, *args).returncode == 0, args


def test_output_paths_are_checked_before_any_work(tmp_path):
    # the settings module does not exist either: the path is reported, so it was checked first
    error = _one_line_error(
        run("inspect", "--settings", "no_such_settings", "-o", "/nonexistent/dir/x.json")
    )
    assert "-o/--output /nonexistent/dir/x.json: no such directory" in error
    error = _one_line_error(run("inspect", "--settings", DEMO, "-o", str(tmp_path)))
    assert "is a directory" in error
    (tmp_path / "file").write_text("")
    error = _one_line_error(run("demo", "--output-dir", str(tmp_path / "file")))
    assert "--output-dir" in error


def test_trace_checks_its_output_paths_before_the_script_runs(tmp_path):
    (tmp_path / "job.py").write_text("open('ran.txt', 'w').close()\n")
    for option in ("--jsonl", "--html"):
        result = run("trace", option, "/nonexistent/dir/out", "job.py", cwd=str(tmp_path))
        assert option in _one_line_error(result)
        assert not (tmp_path / "ran.txt").exists()


def test_trace_bad_option_shows_the_trace_usage():
    result = run("trace", "--bogus")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: sigscope trace ")
    assert "sigscope trace: error: unrecognized arguments: --bogus" in result.stderr


def test_min_severity_says_how_many_findings_it_hid():
    everything = json.loads(run("check", "--settings", DEMO, "--format", "json").stdout)
    errors = [f for f in everything["findings"] if f["severity"] == "error"]
    hidden = len(everything["findings"]) - len(errors)
    result = run("check", "--settings", DEMO, "--min-severity", "error")
    summary = result.stdout.rstrip().splitlines()[-1]
    assert f"{len(errors)} findings ({len(errors)} errors)" in summary
    assert f"{hidden} findings hidden by --min-severity error" in summary


def test_summary_counts_are_singular_for_one():
    from sigscope.records import Finding
    from sigscope.snapshot import Snapshot
    from sigscope.views.text import summary_line

    one = Finding("never_sent", "note", "x.sig", None, (), "m", "f")
    snap = Snapshot([])
    assert summary_line(snap, [one]).endswith("0 registrations · 0 pending · 1 finding (1 note)")
    assert " 2 findings (2 notes)" in summary_line(snap, [one, one])


def test_manage_py_sigscope_trace_runs_a_script(tmp_path):
    (tmp_path / "job.py").write_text("import sigscope.demo\nsigscope.demo.run_scenario()\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": DEMO}
    result = subprocess.run(
        [sys.executable, "-m", "sigscope.demo.manage", "sigscope", "trace", "job.py"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "▸ order_shipped(shop.Order)" in result.stderr
    assert "sends recorded" in result.stderr


def test_trace_demo_checks_its_filters_before_tracing(tmp_path):
    result = run("trace", "--demo", "--signal", "order_shiped", cwd=str(tmp_path))
    assert "--signal order_shiped: no such signal; did you mean 'order_shipped'" in (
        _one_line_error(result)
    )


def test_a_missing_module_imported_by_ready_names_the_app(tmp_path):
    (tmp_path / "missing_settings.py").write_text(
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.contenttypes', 'lonely']\n"
    )
    (tmp_path / "lonely").mkdir()
    (tmp_path / "lonely" / "__init__.py").write_text("")
    (tmp_path / "lonely" / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass LonelyConfig(AppConfig):\n"
        "    name = 'lonely'\n\n    def ready(self):\n        import lonely_receivers\n"
    )
    error = _one_line_error(
        run("check", "--settings", "missing_settings", "--pythonpath", str(tmp_path))
    )
    assert "app 'lonely': LonelyConfig.ready() failed at " in error
    assert "lonely/apps.py:8: ModuleNotFoundError: No module named 'lonely_receivers'" in error


def test_inspect_text_says_where_each_signal_is_sent_from():
    result = run("inspect", "--settings", DEMO, "--signal", "order_placed")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("sigscope.demo.shop.")))
    assert lines[header + 1].startswith("  sent from ")
    assert lines[header + 1].endswith(
        "shop/services.py:14 in place_order (send_robust, sender=Order)"
    )


@pytest.mark.parametrize(
    ("action", "usage"),
    [("trace", "usage: sigscope trace "), ("check", "usage: manage.py sigscope check ")],
)
def test_manage_py_bad_option_shows_the_subcommands_usage(action, usage):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": DEMO}
    result = subprocess.run(
        [sys.executable, "-m", "sigscope.demo.manage", "sigscope", action, "--bogus"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(usage), result.stderr
    assert f"manage.py sigscope {action}: error: unrecognized arguments: --bogus" in result.stderr
    assert "{inspect,check,trace}" not in result.stderr  # not the top-level usage
