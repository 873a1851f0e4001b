"""One config per command: a --config file sets bench's options, the command line wins over it, its values are
checked as the options are, and the resolved configuration is stored in the run (the options themselves come from
the dataclass: tests/test_cli_config.py)."""

import pytest
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.longform.answer import AnswerConfig, run_answers
from clinqa.eval import EvalConfig
from clinqa.eval.store import Store

runner = CliRunner()


def test_answer_refuses_a_changed_configuration_for_the_same_source(tmp_path, tiny_backend):
    base = dict(dataset="adversarial_general", model="tiny", limit=2, max_tokens=4, run_dir=str(tmp_path / "a"))
    run_answers(AnswerConfig(**base), backend=tiny_backend)
    run_answers(AnswerConfig(**{**base, "limit": 3}), backend=tiny_backend)        # a larger limit extends
    assert len(Store(tmp_path / "a").answers("tiny")) == 3
    with pytest.raises(ValueError, match="different configuration.*max_tokens"):
        run_answers(AnswerConfig(**{**base, "max_tokens": 9}), backend=tiny_backend)
    run_answers(AnswerConfig(**{**base, "max_tokens": 9, "source": "tiny-long"}), backend=tiny_backend)


def test_config_file_sets_options_and_the_command_line_wins(tmp_path, tiny_model_dir, data_dir):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"dataset: medqa\nstrategy: sc\nn_samples: 2\nmax_tokens: 8\nlimit: 2\nmodel: {tiny_model_dir}\n"
                   f"data_dir: {data_dir}\ntemperature: 0.5\n")
    r = runner.invoke(app, ["bench", "--config", str(cfg), "--temperature", "0.9", "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    stored = Store(tmp_path / "r").run_info()["config"]
    assert stored["strategy"] == "sc" and stored["n_samples"] == 2 and stored["max_tokens"] == 8
    assert stored["temperature"] == 0.9, "an option on the command line wins over the file"
    assert all(len(r["samples"]) == 2 for r in Store(tmp_path / "r").results())


def test_config_file_errors_name_the_file_and_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("n_sample: 3\n")
    r = runner.invoke(app, ["bench", "--config", str(cfg)])
    assert r.exit_code == 2 and "bad.yaml" in r.output and "n_sample" in r.output and "unknown option" in r.output


def _built(tmp_path, text: str, cls=EvalConfig, name="run.yaml"):
    """The config `bench --config FILE` would build, without running it."""
    from clinqa.config import load_config
    cfg = tmp_path / name
    cfg.write_text(text)
    return load_config(cls, {}, cfg)


def test_config_file_values_yaml_reads_as_strings_are_converted(tmp_path):
    c = _built(tmp_path, 'temperature: 1e-1\nn_samples: "3"\nlimit: "7"\nadaptive: "yes"\ntop_p: 1\nk_shot: null\n'
                         "split: 2020\n")
    assert c.temperature == 0.1 and isinstance(c.temperature, float)
    assert c.n_samples == 3 and isinstance(c.n_samples, int) and c.limit == 7
    assert c.adaptive is True and c.top_p == 1.0 and c.k_shot is None and c.split == "2020"


@pytest.mark.parametrize("line,key", [("limit: three", "limit"), ("n_samples: 2.5", "n_samples"),
                                      ("temperature: warm", "temperature"), ("adaptive: maybe", "adaptive"),
                                      ("n_refine: null", "n_refine"), ("model: [a, b]", "model")])
def test_config_file_wrong_typed_value_is_one_line_naming_file_and_key(tmp_path, line, key):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(line + "\n")
    r = runner.invoke(app, ["bench", "--config", str(cfg)])
    assert r.exit_code == 2, r.output
    assert "run.yaml" in r.output and f"'{key}'" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output


def test_config_file_values_still_meet_the_command_lines_range_checks(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text('limit: "0"\n')
    r = runner.invoke(app, ["bench", "--config", str(cfg)])
    assert r.exit_code == 2 and "--limit 0: must be at least 1" in r.output


@pytest.mark.parametrize("text,name", [("", "run.yaml"), ("# nothing set yet\n", "run.yaml"), ("", "run.json")])
def test_empty_config_file_sets_nothing(tmp_path, text, name):
    assert _built(tmp_path, text, name=name) == EvalConfig()


def test_answer_config_file_is_checked_too(tmp_path):
    assert _built(tmp_path, 'max_tokens: "12"\ndebias: "no"\n', AnswerConfig).max_tokens == 12
    with pytest.raises(ValueError, match=r"run.yaml: field 'max_tokens': 'many' is not a valid int"):
        _built(tmp_path, "max_tokens: many\n", AnswerConfig)
