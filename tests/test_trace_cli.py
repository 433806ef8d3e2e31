"""``sigscope trace``: a script, a module and the demo, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import sys
import sigscope.demo
sigscope.demo.run_scenario()
print("program output", sys.argv[1:])
sys.exit(3)
"""


def run(*args: str, cwd: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "sigscope.cli", "trace", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_trace_a_script_keeps_its_output_args_and_exit_code(tmp_path):
    (tmp_path / "job.py").write_text(SCRIPT)
    result = run("--jsonl", "events.jsonl", "job.py", "a", "b", cwd=str(tmp_path))
    assert result.returncode == 3
    assert result.stdout == "program output ['a', 'b']\n"  # the trace goes to stderr
    assert "▸ order_shipped(shop.Order)" in result.stderr
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    events = [r for r in records if r["type"] == "send"]  # other line types: keys only added
    assert header["schema"] == 1 and header["events"] == len(events) > 0
    assert {r["type"] for r in records} >= {"send", "bypass", "on_commit"}
    shipped = [e for e in events if e["signal"].endswith("order_shipped")]
    assert len(shipped) == 1 and shipped[0]["parent"] is not None


def test_trace_a_module_with_filters_and_an_html_report(tmp_path):
    (tmp_path / "jobmod.py").write_text(SCRIPT.replace("sys.exit(3)", ""))
    result = run(
        "--signal",
        "m2m_changed",
        "--html",
        "report.html",
        "--summary",
        "-m",
        "jobmod",
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "sigscope: 2 sends recorded" in result.stderr
    assert "m2m_changed" in result.stderr and "post_save" not in result.stderr
    report = (tmp_path / "report.html").read_text()
    assert report.startswith("<!doctype html>") and "reindex_tags" in report
    assert "http://" not in report and "https://" not in report  # opens offline


def test_trace_demo_prints_the_tree(tmp_path):
    result = run("--demo", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "▸ post_save(shop.Order)" in result.stdout
    assert "sigscope.demo.shop.signals.notify_shipped" in result.stdout


def test_trace_bad_input_is_one_line_exit_2(tmp_path):
    for args in (("-m", "no_such_module_here"), ("missing.py",), ()):
        result = run(*args, cwd=str(tmp_path))
        assert result.returncode == 2, args
        assert result.stderr.startswith("sigscope: error:") and "Traceback" not in result.stderr
