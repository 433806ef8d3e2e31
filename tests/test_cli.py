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
