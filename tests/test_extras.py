"""The core installs without the extras: with trl, peft, datasets, fastapi, uvicorn, argon2 ... made unimportable,
the command line imports and `bench --help` works, and commands that need an extra fail with one line naming it."""

import subprocess
import sys

import pytest

BLOCKED = ["trl", "peft", "datasets", "fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "argon2",
           "vllm", "llama_cpp", "inspect_ai", "mlflow", "wandb", "psycopg"]
# None in sys.modules makes `import trl` raise ModuleNotFoundError and importlib.util.find_spec("trl") return None,
# exactly as if the package were not installed (transformers' availability checks see it absent too)
PRELUDE = f"import sys\nfor m in {BLOCKED!r}:\n    sys.modules[m] = None\n"


def run_core(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"})


def test_core_imports_and_bench_help_without_extras():
    r = run_core("import clinqa.cli, clinqa.eval, clinqa.models.openai_backend, clinqa.report, clinqa.cli.rate\n"
                 "assert all(sys.modules[m] is None for m in " + repr(BLOCKED) + ")\n"
                 "from clinqa.cli import main\nmain(['bench', '--help'])")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--strategy" in r.stdout and "--model" in r.stdout


@pytest.mark.parametrize("argv, extra, module", [
    (["tune", "--max-steps", "1"], "tune", "trl"),
    (["rate", "serve", "--no-demo"], "rating", "uvicorn"),
])
def test_a_command_that_needs_an_extra_says_which_in_one_line(tmp_path, argv, extra, module):
    r = run_core(f"import os\nos.chdir({str(tmp_path)!r})\nfrom clinqa.cli import main\nmain({argv!r})")
    assert r.returncode == 2, r.stderr[-3000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"pip install 'clinqa[{extra}]'" in lines[0] and module in lines[0]
    assert not (tmp_path / "runs").exists(), "nothing is written before the missing extra is reported"


def test_other_missing_modules_are_not_disguised():
    r = run_core("from clinqa.extras import message\n"
                 "print(message(ModuleNotFoundError('x', name='numpyy'), ['bench']))\n"
                 "print(message(ModuleNotFoundError('x', name='datasets.load'), ['bench', '--task', 'hf:a/b']))")
    assert r.stdout.split("\n")[:2] == ["None", "clinqa bench needs datasets (not installed): pip install 'clinqa[hub]'"]
