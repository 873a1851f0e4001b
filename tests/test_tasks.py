"""Benchmarks as Tasks: a task defined in a user's file runs end to end and is listed; a package can register one
through the `clinqa.tasks` entry point; nothing outside the task files branches on a benchmark's name."""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.tasks import REGISTRY, get_task

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src" / "clinqa"

TASK_FILE = '''
from pathlib import Path
from clinqa.data.loaders.medqa import load_medqa
from clinqa.tasks import Task

HERE = Path(__file__).parent
my_task = Task("cardio_mini", "mc", lambda split, root: load_medqa(HERE / "cardio.jsonl", "cardio_mini", split),
               {"test": 3}, source="three questions written for a test", license="CC0", k_answer=0, k_reasoning=0)
'''


def write_user_task(folder: Path) -> Path:
    rows = [{"question": f"Which drug treats condition {i}?", "options": {"A": "aspirin", "B": "heparin", "C": "warfarin",
             "D": "alteplase"}, "answer_idx": "ABCD"[i]} for i in range(3)]
    (folder / "cardio.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "my_task.py").write_text(TASK_FILE)
    return folder / "my_task.py"


def test_a_task_in_a_file_runs_end_to_end_and_is_listed(tmp_path, tiny_model_dir):
    path = write_user_task(tmp_path)
    r = runner.invoke(app, ["bench", "--task", f"{path}:my_task", "--strategy", "loglik", "--model", str(tiny_model_dir),
                            "--run-dir", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "│ all" in line)
    assert [c.strip() for c in row.split("│")][2:4] == ["all", "3"]
    listed = runner.invoke(app, ["tasks", "list", "--include", str(path)], terminal_width=250)
    assert listed.exit_code == 0 and "cardio_mini" in listed.output and "test: 3 (3)" in listed.output


def test_a_package_registers_a_task_by_entry_point(tmp_path, monkeypatch):
    write_user_task(tmp_path)
    (tmp_path / "my_task.py").rename(tmp_path / "clinqa_cardio_plugin.py")
    dist = tmp_path / "clinqa_cardio_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: clinqa-cardio-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[clinqa.tasks]\ncardio_mini = clinqa_cardio_plugin:my_task\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    task = get_task("cardio_mini")
    assert task.name == "cardio_mini" and len(task.load()) == 3
    listed = runner.invoke(app, ["tasks", "list"], terminal_width=250)
    assert "cardio_mini" in listed.output


def test_bad_task_references_are_one_line_errors(tmp_path):
    (tmp_path / "t.py").write_text("x = 1\n")
    for ref, message in ((f"{tmp_path}/t.py:x", "'x' is not a clinqa Task"), (f"{tmp_path}/none.py:t", "task file not found"),
                         ("no_such_task", "unknown task")):
        r = runner.invoke(app, ["bench", "--task", ref, "--model", "/nonexistent"])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_tasks_list_shows_every_built_in_task_with_checked_counts(data_dir):
    r = runner.invoke(app, ["tasks", "list", "--data-dir", str(data_dir)], terminal_width=250)
    assert r.exit_code == 0
    for name, task in REGISTRY.items():
        assert name in r.output
    assert "test: 1273 (1273)" in r.output and "test: 140 (140)" in r.output


def test_no_branch_on_a_benchmark_name_outside_the_task_files():
    names = "|".join(sorted({re.split(r"_", n)[0] for n in REGISTRY} | {"equitymedqa", "adversarial", "pubmed"}))
    branch = re.compile(rf"""(==|!=|\bin\s*[\(\[{{]|startswith\(\(?)\s*["']({names})""")
    offenders = []
    for f in SRC.rglob("*.py"):
        rel = f.relative_to(SRC).as_posix()
        if rel.startswith(("tasks/", "data/loaders/")):
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if branch.search(line):
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert offenders == []
