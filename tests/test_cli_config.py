"""A command's options come from its config dataclass (`cli/options.py`): help, defaults and flags written once in the
fields; `--config FILE` fills the same fields and the command line wins; `clinqa tune` passes TRL's SFTConfig fields
through (`--sft key=value`, an `sft:` mapping), checked against SFTConfig; every option README.md gives bench, answer
and tune exists."""

import dataclasses
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.cli.options import config_options
from clinqa.eval import EvalConfig
from clinqa.judge.autorate import AutorateConfig
from clinqa.longform.answer import AnswerConfig
from clinqa.tune.train import TuneConfig, sft_config

runner = CliRunner()
README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = {"bench": EvalConfig, "answer": AnswerConfig, "tune": TuneConfig, "autorate": AutorateConfig}


def _demo_app(help_text: str) -> tuple[typer.Typer, list]:
    """A one-command app over a dataclass made here; the built configs land in the returned list."""
    @dataclass
    class Demo:
        size: int = field(default=3, metadata={"help": help_text})
        name: str | None = field(default=None, metadata={"flags": ("--name", "--label"), "help": "a name"})
        fast: bool = False
        ratio: float = 0.5
        extra: dict = field(default_factory=dict)

    built = []
    demo = typer.Typer()

    @demo.command()
    @config_options(Demo)
    def run(cfg: Demo, verbose: bool = typer.Option(False, help="command-only")):
        """Run the demo."""
        built.append((cfg, verbose))

    @demo.command()
    def other():
        pass
    return demo, built


@pytest.mark.parametrize("help_text", ["how many widgets to make", "the count of gadgets, changed"])
def test_help_comes_from_the_fields_metadata(help_text):
    demo, _ = _demo_app(help_text)
    r = runner.invoke(demo, ["run", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if "--size" in ln)
    assert help_text in line and "[default: 3]" in line
    assert "--name" in r.output and "--label" in r.output and "--fast" in r.output and "--no-fast" in r.output
    assert "--config" in r.output and "--verbose" in r.output


def test_options_build_the_dataclass_with_its_types(tmp_path):
    demo, built = _demo_app("n")
    r = runner.invoke(demo, ["run", "--size", "7", "--label", "x", "--fast", "--extra", "a=1", "--extra", "b=[1, 2]",
                             "--verbose"])
    assert r.exit_code == 0, r.output
    cfg, verbose = built[-1]
    assert (cfg.size, cfg.name, cfg.fast, cfg.ratio, cfg.extra, verbose) == (7, "x", True, 0.5, {"a": 1, "b": [1, 2]},
                                                                             True)
    runner.invoke(demo, ["run"])
    assert built[-1][0] == type(cfg)(), "no option given: the dataclass's defaults"


def test_config_file_fills_fields_and_the_command_line_wins(tmp_path):
    demo, built = _demo_app("n")
    (tmp_path / "run.yaml").write_text("size: '5'\nname: file\nratio: 2\nextra: {a: 1, b: 2}\n")
    r = runner.invoke(demo, ["run", "--config", str(tmp_path / "run.yaml"), "--name", "cli", "--extra", "b=3"])
    assert r.exit_code == 0, r.output
    cfg = built[-1][0]
    assert (cfg.size, cfg.name, cfg.ratio, cfg.extra) == (5, "cli", 2.0, {"a": 1, "b": 3})
    (tmp_path / "run.json").write_text('{"fast": true}')
    runner.invoke(demo, ["run", "--config", str(tmp_path / "run.json"), "--no-fast"])
    assert built[-1][0].fast is False, "--no-fast on the command line wins over the file's true"


@pytest.mark.parametrize("text,words", [("sise: 3\n", ["run.yaml", "'sise'", "unknown option"]),
                                        ("size: lots\n", ["run.yaml", "'size'", "'lots' is not a valid int"]),
                                        ("extra: 3\n", ["run.yaml", "'extra'", "not a valid dict"])])
def test_config_file_errors_name_the_file_and_the_field(tmp_path, text, words):
    demo, built = _demo_app("n")
    (tmp_path / "run.yaml").write_text(text)
    r = runner.invoke(demo, ["run", "--config", str(tmp_path / "run.yaml")])
    assert r.exit_code == 2 and not built
    assert all(w in r.output for w in words), r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_commands_options_carry_the_fields_help_and_default(command):
    params = {p.name: p for p in get_command(app).commands[command].params}
    for f in dataclasses.fields(COMMANDS[command]):
        assert params[f.name].help == f.metadata["help"], f"{command} --{f.name}: help not from the field"
        if f.default is not dataclasses.MISSING:
            assert params[f.name].default == f.default


def test_bench_help_shows_the_fields_help():
    r = runner.invoke(app, ["bench", "--help"], env={"COLUMNS": "250"})
    help_of = {f.name: f.metadata["help"] for f in dataclasses.fields(EvalConfig)}
    assert help_of["n_samples"] in r.output and help_of["order"] in r.output
    assert "--task" in r.output and "--er-with-answers" in r.output and "--er-without-answers" in r.output


def test_answer_and_tune_config_files_are_checked(tmp_path):
    (tmp_path / "a.yaml").write_text("max_tokens: many\n")
    r = runner.invoke(app, ["answer", "--config", str(tmp_path / "a.yaml")])
    assert r.exit_code == 2 and "a.yaml: field 'max_tokens': 'many' is not a valid int" in r.output
    (tmp_path / "t.yaml").write_text("max_step: 3\n")
    r = runner.invoke(app, ["tune", "--config", str(tmp_path / "t.yaml")])
    assert r.exit_code == 2 and "t.yaml: field 'max_step': unknown option" in r.output


@pytest.fixture
def tune_configs(monkeypatch):
    """The TuneConfig `clinqa tune` would train with (training itself replaced by recording it)."""
    import clinqa.tune.train
    seen = []
    monkeypatch.setattr(clinqa.tune.train, "train", lambda cfg: seen.append(cfg) or Path(cfg.output_dir))
    return seen


def test_sft_options_and_file_reach_sftconfig(tmp_path, tune_configs):
    (tmp_path / "tune.yaml").write_text("lora_r: 4\nsft:\n  warmup_steps: 2\n  lr_scheduler_type: cosine\n"
                                        "  max_steps: 7\n  weight_decay: '1e-2'\n")
    r = runner.invoke(app, ["tune", "--config", str(tmp_path / "tune.yaml"), "--sft", "warmup_steps=3",
                            "--batch-size", "2", "--seed", "5", "--output", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    [cfg] = tune_configs
    assert cfg.lora_r == 4 and cfg.output_dir == str(tmp_path / "out")
    args = sft_config(cfg, Path(cfg.output_dir))
    assert args.warmup_steps == 3, "--sft on the command line wins over the file's sft"
    assert str(args.lr_scheduler_type.value) == "cosine" and args.weight_decay == 0.01
    assert args.max_steps == 7 and args.per_device_train_batch_size == 2 and args.seed == 5 and args.data_seed == 5
    assert args.learning_rate == 2e-4 and args.max_length == 512 and args.save_steps == 25, "clinqa's defaults"
    assert args.output_dir == str(tmp_path / "out" / "checkpoints") and args.packing is True


def test_readme_tune_options_still_set_sftconfig(tmp_path, tune_configs):
    r = runner.invoke(app, ["tune", "--max-steps", "60", "--learning-rate", "1e-5", "--grad-accum", "2",
                            "--max-length", "256", "--save-steps", "9", "--logging-steps", "3", "--full",
                            "--no-packing"])
    assert r.exit_code == 0, r.output
    args = sft_config(tune_configs[0], tmp_path)
    assert (args.max_steps, args.learning_rate, args.gradient_accumulation_steps, args.max_length, args.save_steps,
            args.logging_steps, args.packing) == (60, 1e-5, 2, 256, 9, 3, False)


def test_full_finetuning_defaults_to_its_own_learning_rate(tmp_path):
    assert sft_config(TuneConfig(lora=False), tmp_path).learning_rate == 2e-5
    assert sft_config(TuneConfig(sft={"learning_rate": 1e-3}), tmp_path).learning_rate == 1e-3


@pytest.mark.parametrize("args,words", [(["--sft", "warmup_step=3"], ["--sft", "'warmup_step'", "SFTConfig",
                                                                       "warmup_steps"]),
                                        (["--sft", "max_steps=many"], ["--sft", "max_steps", "'many'", "int"]),
                                        (["--sft", "output_dir=x"], ["'output_dir'", "--output"]),
                                        (["--sft", "max_steps"], ["expected key=value"])])
def test_bad_sft_options_are_refused(tune_configs, args, words):
    r = runner.invoke(app, ["tune", *args])
    assert r.exit_code == 2 and not tune_configs
    assert all(w in r.output for w in words), r.output


def test_unknown_sft_key_in_a_file_names_the_file(tmp_path, tune_configs):
    (tmp_path / "tune.yaml").write_text("sft:\n  num_epochs: 2\n")
    r = runner.invoke(app, ["tune", "--config", str(tmp_path / "tune.yaml")])
    assert r.exit_code == 2 and not tune_configs
    assert "tune.yaml: field 'sft': 'num_epochs' is not a field of TRL's SFTConfig" in r.output


def _readme_commands() -> list[tuple[str, str]]:
    """(command, the rest of the line) for each `clinqa bench|answer|tune` (or `-m clinqa.tune`) in README.md, with
    `\\` continuation lines joined and inline code cut at its closing backtick."""
    text = README.read_text().replace("\\\n", " ")
    found = []
    for m in re.finditer(r"(?:clinqa |-m clinqa\.)(bench|answer|tune|autorate)\b([^\n`]*)", text):
        found.append((m.group(1), m.group(2).split(" #")[0]))
    return found


def test_every_option_readme_gives_bench_answer_and_tune_exists():
    commands = _readme_commands()
    assert {c for c, _ in commands} == set(COMMANDS) and len(commands) > 30
    group = get_command(app)
    for command, rest in commands:
        names = {o for p in group.commands[command].params for o in (*p.opts, *p.secondary_opts)}
        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
            assert option in names, f"README: clinqa {command} ...{option}: not an option of the command"


def test_readme_command_lines_parse(tmp_path):
    """The README's command lines (`clinqa ...` in bash blocks, `$ clinqa ...` in console blocks) parse: each
    option exists and its value has the option's type."""
    group = get_command(app)
    parsed, fence = 0, None
    for line in README.read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            continue
        prompt = {"bash": "", "console": "$ "}.get(fence)
        m = re.match(rf"^{re.escape(prompt or '')}clinqa (bench|answer|tune|autorate)( .*)?$", line)
        if prompt is None or not m or "<" in line or "…" in line:   # `<hf id>`, `openai:…`: placeholders
            continue
        args = shlex.split((m.group(2) or "").split(" #")[0])
        group.commands[m.group(1)].make_context(m.group(1), args)
        parsed += 1
    assert parsed >= 15
