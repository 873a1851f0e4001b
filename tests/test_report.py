"""The benchmark report as a new user reads it: baselines (chance, the commonest gold letter) and a sentence when the
accuracy is letter bias, every option letter in the letters line, the backend in words, only the settings the
strategy reads, a combined report that never replaces one run's own, distinct labels for runs of one strategy, the
configuration printed, and a plot whose title fits. Runs are written straight into stores (no model needed)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.report import (accuracy_figure, backend_text, config_line, default_out, labels, letters_line,
                           shown_config, summary_lines)
from clinqa.results_view import write_html
from clinqa.eval import EvalConfig
from clinqa.eval.store import Store

runner = CliRunner()
BACKEND = {"backend": "llamacpp", "name": "smollm2-135m-instruct", "chat_template": False, "threads": 2, "seqs": 1}


def make_run(folder: Path, preds: str, golds: str, strategy: str = "fewshot", letters: str = "ABCD") -> Store:
    """A finished run: question i predicted preds[i] ('-' for no answer), gold golds[i]."""
    store = Store(folder)
    store.init_run(folder.name, EvalConfig(dataset="medqa", strategy=strategy, model="smollm2-135m-instruct",
                                            limit=len(golds)).identity(), BACKEND)
    for i, (p, g) in enumerate(zip(preds, golds)):
        pred = None if p == "-" else p
        store.save_result(dict(qid=f"q{i}", position=i, dataset="medqa", subject=None, gold=g, prediction=pred,
                               correct=pred == g, n_samples=1, n_unparsed=0, tokens=3, seconds=0.1, votes={},
                               samples=[], prompts={}, scores={},
                               meta={"question": f"question {i}", "options": {L: f"option {L}" for L in letters}}))
    return store


# 20 questions, 8 of them (40%) with gold C; the model answers C to 19 (95%) and scores 8 + 0 = 40% ... plus one
GOLD = "CCCCCCCCAAAAABBBBDDD"
PRED_C = "CCCCCCCCCCCCCCCCCCCA"


def test_letter_bias_is_said_in_words_with_the_baselines(tmp_path):
    lines = summary_lines([make_run(tmp_path / "biased", PRED_C, GOLD)])
    text = "\n".join(lines)
    assert "chance 25.0%" in text and "always the commonest gold letter (C) 40.0%" in text
    assert "answered C to 95% of questions" in text and "always answering C scores 40% here" in text
    assert "is letter bias" in text


def test_no_bias_sentence_when_answers_are_spread(tmp_path):
    text = "\n".join(summary_lines([make_run(tmp_path / "spread", "ABCDABCDABCDABCDABCD", GOLD)]))
    assert "baselines: chance 25.0%" in text and "letter bias" not in text


def test_letters_line_shows_every_option_letter(tmp_path):
    store = make_run(tmp_path / "five", "AAAB", "ABAB", letters="ABCDE")
    line = letters_line(store.results())
    assert "C 0%" in line and "D 0%" in line and "E 0%" in line, line
    assert line.split("|")[1].count("E 0%") == 1, "gold lists E too"


def test_backend_is_words_not_a_dict():
    text = backend_text(BACKEND)
    assert text.startswith("llamacpp smollm2-135m-instruct") and "threads: 2" in text
    assert "{" not in text and "'" not in text


@pytest.mark.parametrize("strategy,hidden,kept", [
    ("fewshot", {"n_refine", "n_samples", "temperature", "top_p", "max_tokens", "er_with_answers"}, {"k_shot", "seed"}),
    ("cot", {"n_refine", "n_samples", "temperature"}, {"max_tokens"}),
    ("sc", {"n_refine", "er_with_answers"}, {"n_samples", "temperature"}),
    ("er", set(), {"n_samples", "n_refine", "temperature", "er_with_answers"})])
def test_configuration_lists_only_the_settings_the_strategy_reads(strategy, hidden, kept):
    config = {**EvalConfig(strategy=strategy).identity(), "er_with_answers": False}
    shown = shown_config(config)
    assert not hidden & set(shown), hidden & set(shown)
    assert kept <= set(shown)


def test_runs_of_one_strategy_get_distinct_labels_and_compare_names_them(tmp_path):
    a, b = make_run(tmp_path / "run-a", PRED_C, GOLD), make_run(tmp_path / "run-b", "ABCDABCDABCDABCDABCD", GOLD)
    la, lb = labels([a, b])
    assert la != lb and "run-a" in la and "run-b" in lb
    assert labels([a]) == ["medqa/fewshot/smollm2-135m-instruct"]
    r = runner.invoke(app, ["compare", str(a.dir), str(b.dir)])
    assert r.exit_code == 0 and f"A = {la}" in r.output and f"B = {lb}" in r.output


def test_report_of_two_runs_keeps_each_runs_own_report_and_prints_configuration(tmp_path):
    a, b = make_run(tmp_path / "run-a", PRED_C, GOLD), make_run(tmp_path / "run-b", PRED_C, GOLD, strategy="cot")
    r = runner.invoke(app, ["report", str(a.dir)])
    assert r.exit_code == 0, r.output
    own = (a.dir / "report.html").read_text()
    r = runner.invoke(app, ["report", str(a.dir), str(b.dir)])
    assert r.exit_code == 0, r.output
    combined = tmp_path / "reports" / "run-a+run-b.html"
    assert combined.is_file() and combined.with_suffix(".png").is_file()
    assert (a.dir / "report.html").read_text() == own, "A's own report was replaced"
    assert f"wrote {combined}" in r.output
    assert "medqa/fewshot/smollm2-135m-instruct configuration: dataset=medqa" in r.output
    assert "strategy=cot" in r.output and "n_refine" not in r.output
    assert default_out([a]) == a.dir / "report.html"


def test_report_no_table_prints_no_table_but_the_configuration(tmp_path):
    a = make_run(tmp_path / "run-a", PRED_C, GOLD)
    r = runner.invoke(app, ["report", "--no-table", str(a.dir)])
    assert r.exit_code == 0 and "┃" not in r.output and config_line(a) in r.output


def test_html_report_reads_as_words(tmp_path):
    a = make_run(tmp_path / "run-a", PRED_C, GOLD)
    html = write_html([a], tmp_path / "r.html").read_text()
    assert "llamacpp smollm2-135m-instruct (chat_template: False" in html and "{&#39;backend" not in html
    assert "n_refine" not in html and "Baselines: chance 25.0%; always the commonest gold letter (C) 40.0%" in html and "is letter bias" in html


def test_plot_title_and_labels_fit_in_the_figure(tmp_path):
    stores = [make_run(tmp_path / f"a-rather-long-run-directory-name-{i}", PRED_C, GOLD) for i in range(2)]
    fig = accuracy_figure(stores)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for artist in [fig.axes[0].title, *fig.axes[0].get_xticklabels()]:
        ext = artist.get_window_extent(renderer)
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0 and ext.y1 <= box.y1, artist.get_text()
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert legend == {"chance", "always the commonest gold letter"}


def test_paths_are_printed_whole_on_one_line(tmp_path):
    deep = tmp_path / ("a-directory-name-long-enough-to-wrap-" * 4) / ("run-" + "x" * 120)
    make_run(deep, PRED_C, GOLD)
    r = runner.invoke(app, ["report", str(deep)])
    assert r.exit_code == 0, r.output
    assert f"wrote {deep / 'report.html'} (+ .png, .svg)" in r.output.splitlines()
    summary = [line for line in r.output.splitlines() if "extracted letters" in line]
    assert len(summary) == 1 and "gold: A 25% B 20% C 40% D 15%" in summary[0], "the letters line was wrapped"
