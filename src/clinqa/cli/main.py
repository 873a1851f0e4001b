"""The `clinqa` command (Typer): the top-level commands (ask, bench, report, compare, answer, autorate, tune, ...)
and the groups from their own modules (`clinqa tasks`, `rate`, `judge`, `export`). Every command is a thin layer over
the Python API; `main` is the console entry point."""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from clinqa.cli.common import console, err, fail, interrupted
from clinqa.cli.options import config_options
from clinqa.cli.export import export_app
from clinqa.cli.judge import judge_app
from clinqa.cli.rate import rate_app
from clinqa.cli.run_plan import run_cmd
from clinqa.cli.tasks import tasks_app
from clinqa.data.errors import DataError
from clinqa.eval import EvalConfig
from clinqa.extras import message
from clinqa.judge.autorate import AutorateConfig
from clinqa.longform.answer import AnswerConfig
from clinqa.report import rows_of
from clinqa.results_view import parse_rate_line, results_table
from clinqa.tune.sft import SHORT_OPTIONS
from clinqa.tune.train import TuneConfig
from clinqa.cli.terminal import hide_flag_types

app = typer.Typer(help="clinqa: build, run and judge medical question-answering LLMs (Med-PaLM 2 style).",
                  no_args_is_help=True, add_completion=False)
hide_flag_types()                 # flags take no value: no `<bool>` beside them in --help
app.add_typer(tasks_app, name="tasks")
app.add_typer(tasks_app, name="datasets", help="The same as `clinqa tasks`.")
app.add_typer(rate_app, name="rate")
app.add_typer(judge_app, name="judge")
app.add_typer(export_app, name="export")
app.command("run")(run_cmd)


@app.command()
def ask(question: str = typer.Argument(..., help="a consumer health question"),
        model: str = typer.Option("smollm2-135m-instruct", help="model name, path, hub id or openai:<model>@<url>"),
        dataset: str = typer.Option("healthsearchqa", help="prompt variant: healthsearchqa, liveqa, medicationqa"),
        debias: bool = typer.Option(False, help="add the paper's instruction against race/gender/geography bias"),
        max_tokens: int = typer.Option(256), temperature: float = typer.Option(0.0, help="0 = greedy, as the paper")):
    """Answer one question with the paper's long-form prompt, streaming the answer."""
    from clinqa.models import GenRequest, load_model
    from clinqa.prompts import longform_prompt
    with console.status(f"loading {model} ..."):
        backend = load_model(model)
    req = GenRequest(longform_prompt(question, dataset, debias), max_tokens=max_tokens, temperature=temperature,
                     stop=("\nQuestion:",), seed=0)
    for piece in backend.stream(req):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@app.command()
@config_options(EvalConfig)
def bench(cfg: EvalConfig,
          report_to: str = typer.Option("none", help="also log metrics and config to mlflow, wandb, tensorboard "
                                        "(comma-separated) or none"),
          runs_root: Path = typer.Option(Path("runs"), help="where run directories are made")):
    """Evaluate a model on a task of any kind (multiple choice, long-form, HealthBench, K-QA, your own). Re-running the same command resumes an interrupted run; a larger
    --limit extends it."""
    from clinqa.eval import run_eval
    from clinqa.report import print_metrics
    from clinqa.tracking import parse_report_to
    try:
        cfg.validate()
        parse_report_to(report_to)
        from clinqa.tasks import get_task
        kind = get_task(cfg.dataset).kind
        from clinqa.progress import RunProgress, bench_plan
        if kind == "mc":                  # the plan line counts a strategy's generations per question
            err.print(bench_plan(cfg, runs_root).line(), markup=False, highlight=False)
    except (ValueError, DataError) as e:
        fail(str(e))
    with RunProgress(err, f"{cfg.dataset}/{cfg.strategy if kind == 'mc' else kind}",
                     describe=lambda i: f"{i['qid']}: {'-' if i['prediction'] is None else i['prediction']}"
                     + (f" (gold {i['gold']})" if i.get("gold") else "")) as bar:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                store = run_eval(config=cfg, progress=bar, runs_root=runs_root)
            for w in caught:
                if "contamination" in str(w.message):
                    err.print(f"[bold yellow]warning:[/] {w.message}")
        except KeyboardInterrupt:
            bar.stop()
            interrupted("interrupted; finished questions are saved. Re-run the same command to resume.")
        except (DataError, ValueError, FileNotFoundError) as e:
            bar.stop()
            fail(str(e))
    if kind == "mc":
        print_metrics(console, [store])
    else:                             # HealthBench's scores, K-QA's metrics, a custom task's scorers
        console.print(results_table(store))
        if parse_rate_line(store):
            console.print(parse_rate_line(store), markup=False)
    console.print(f"run directory: {store.dir}  (HTML: clinqa report {store.dir})", markup=False, soft_wrap=True)
    if report_to != "none":
        from clinqa.tracking import report_run
        for tracker, where in report_run(store, report_to).items():
            console.print(f"logged to {tracker}: {where}")


@app.command()
def report(runs: List[Path] = typer.Argument(..., help="run directories (`clinqa bench`, any task kind)"),
           out: Optional[Path] = typer.Option(None, help="HTML file (default: <run>/report.html for one run; "
                                              "<parent>/reports/<run>+<run>.html for several)"),
           table: bool = typer.Option(True, "--table/--no-table", help="print the results table")):
    """Print each run's results table and configuration, and write an HTML report: the metrics of each run's kind
    (multiple choice: accuracy, baselines, an accuracy plot; rubric: HealthBench's scores and parse rate; long-form
    and custom: tokens and each scorer's mean) and every sample's input, output and scores."""
    from clinqa.eval.store import Store
    from clinqa.eval.summary import run_kind
    from clinqa.report import config_line, default_out, labels, print_metrics
    from clinqa.results_view import write_html
    try:
        stores = [Store.open_existing(r) for r in runs]
    except (FileNotFoundError, DataError) as e:
        fail(str(e))
    for s in stores:
        if not rows_of(s):
            fail(f"{s.dir}: no finished samples to report (the run has not finished any yet)")
    choice = [s for s in stores if run_kind(rows_of(s)) == "mc"]
    if table:
        for s in stores:
            if s not in choice:
                console.print(results_table(s))
                if parse_rate_line(s):
                    console.print(parse_rate_line(s), markup=False)
        if choice:
            print_metrics(console, choice)
    for s, name in zip(stores, labels(stores)):
        console.print(config_line(s, name), markup=False, highlight=False, soft_wrap=True)
    path = write_html(stores, out or default_out(stores))
    console.print(f"wrote {path}" + (" (+ .png, .svg)" if choice else ""), markup=False, soft_wrap=True)


@app.command()
def compare(run_a: Path, run_b: Path):
    """Paired comparison of two runs on the questions both finished: exact McNemar and paired bootstrap."""
    from clinqa.metrics import compare_runs
    from clinqa.report import labels
    from clinqa.eval.store import Store
    try:
        a, b = Store.open_existing(run_a), Store.open_existing(run_b)
    except (FileNotFoundError, DataError) as e:
        fail(str(e))
    c, left_out = compare_runs(a, b)
    name_a, name_b = labels([a, b])
    console.print(f"A = {name_a}\nB = {name_b}\nquestions in both: {c.n} (in only one: {left_out})", markup=False)
    console.print(f"accuracy A {100 * c.acc_a:.1f}%  B {100 * c.acc_b:.1f}%  B-A {c.diff.fmt()} (paired bootstrap 95%)")
    console.print(f"only A right: {c.only_a}  only B right: {c.only_b}  exact McNemar p = {c.mcnemar_p:.4g}")


@app.command()
@config_options(AnswerConfig)
def answer(cfg: AnswerConfig):
    """Generate long-form answers with the paper's prompt into a resumable store (with full provenance). The same
    source with different options is refused."""
    from clinqa.longform.answer import run_answers
    from clinqa.progress import RunProgress
    with RunProgress(err, f"answers {cfg.dataset}", describe=lambda i: str(i.get("qid", ""))) as bar:
        try:
            store = run_answers(cfg, progress=bar)
        except KeyboardInterrupt:
            bar.stop()
            interrupted("interrupted; finished answers are saved. Re-run the same command to resume.")
        except (DataError, ValueError) as e:
            bar.stop()
            fail(str(e))
    source = cfg.source or cfg.model
    rows = store.answers(source)
    console.print(f"{len(rows)} answers from {source} in {store.path}", markup=False, soft_wrap=True)
    for r in rows[:3]:
        console.print(f"[bold]{r['qid']}[/] {r['question'][:100]}\n  -> {r['text'][:300]}")


@app.command("import-answers")
def import_answers_cmd(path: Path, source: str = typer.Option(..., help="name of this answer source, e.g. physician"),
                       run_dir: Path = typer.Option(Path("runs/answers")),
                       fmt: str = typer.Option("auto", "--format", help="auto, table (CSV/JSONL), inspect (eval log) "
                                               "or lm-eval (samples_*.jsonl); auto decides by the file")):
    """Import answers written elsewhere (CSV/JSONL: question_id, answer[, question, dataset]; an inspect eval log; an
    lm-eval samples file)."""
    from clinqa.logs import import_answers_from
    try:
        n, fmt = import_answers_from(path, source, run_dir, fmt)
    except DataError as e:
        fail(str(e))
    console.print(f"imported {n} answers ({fmt}) as source {source!r} into {run_dir}", markup=False, soft_wrap=True)


@app.command()
def consistency(run_dir: Path, threshold: float = typer.Option(0.6, help="similarity below this flags a pair")):
    """Counterfactual pairs: do the two answers differ in substance (attribute words masked)?"""
    from clinqa.longform.consistency import check_pairs
    from clinqa.eval.store import Store
    try:
        store = Store.open_existing(run_dir)
    except (FileNotFoundError, DataError) as e:
        fail(str(e))
    checks = check_pairs(store.answers(), threshold)
    if not checks:
        fail("no counterfactual pairs among these answers (answer --dataset adversarial_equity first)")
    t = Table(title=f"counterfactual consistency (flag: similarity < {threshold})")
    for c in ("pair", "attribute", "values", "similarity", "differs in substance?"):
        t.add_column(c)
    for c in checks:
        t.add_row(c.pair, c.attribute, " / ".join(c.values), f"{c.similarity:.2f}", "[red]yes[/]" if c.differs else "no")
    console.print(t)
    console.print(f"{sum(c.differs for c in checks)} of {len(checks)} pairs flagged")


@app.command()
@config_options(AutorateConfig)
def autorate(cfg: AutorateConfig, run_dir: Path = typer.Argument(..., help="a run directory with stored answers"),
             human: Optional[Path] = typer.Option(None, help="human ratings (long table, as `rate analyze` reads) to "
                                                  "compare with")):
    """Rate stored answers with an LLM grader (or a jury of several) using the human study's rubric; optionally
    measure agreement."""
    from clinqa.analysis.table import read_ratings
    from clinqa.analysis.agreement import agreement
    from clinqa.judge.autorate import autorate as run_autorate
    from clinqa.models import load_model
    from clinqa.data.rubric import load_rubric
    from clinqa.eval.store import Store
    grader, kind, srcs, retries, concurrency = cfg.grader, cfg.kind, cfg.source_list(), cfg.retries, cfg.concurrency
    try:
        cfg.validate()
        store = Store.open_existing(run_dir)
        rb = load_rubric(cfg.rubric)
        rb.axes(kind)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    with console.status(f"loading grader(s) {', '.join(grader)} ..."):
        backends = [load_model(g) for g in grader]
    with Progress(TextColumn("[bold]autorate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err) as bar:
        task = bar.add_task("rate", total=None)
        try:
            if len(backends) == 1:
                rows = run_autorate(store, backends[0], kind, srcs, rb, retries, cfg.seed,
                                    progress=lambda d, t, info: bar.update(task, completed=d, total=t),
                                    concurrency=concurrency)
                rater = f"auto:{backends[0].name}"
            else:
                from clinqa.judge.jury import autorate_jury
                by_rater = autorate_jury(store, backends, kind, srcs, rb, retries, cfg.seed,
                                         progress=lambda name, d, t: bar.update(task, completed=d, total=t),
                                         concurrency=concurrency)
                for name, its in list(by_rater.items())[:-1]:
                    err.print(f"{name}: {sum(r['ok'] for r in its)} of {len(its)} {kind} ratings parsed")
                rater, rows = list(by_rater.items())[-1]
        except ValueError as e:
            bar.stop()
            fail(str(e))
        except KeyboardInterrupt:
            bar.stop()
            interrupted(f"interrupted; finished ratings are saved in {run_dir} (rerun the same command to resume)")
    ok = [r for r in rows if r["ok"]]
    console.print(f"{len(rows)} {kind} ratings by {rater}: {len(ok)} parsed, {len(rows) - len(ok)} failed "
                  "after retries (raw grader text stored)")
    axes = rb.axes(kind)
    t = Table(title=f"share of parsed ratings in the best bin ({kind})")
    t.add_column("axis")
    t.add_column("best bin")
    t.add_column("share", justify="right")
    for a in axes:
        vals = [r["values"][a.key] for r in ok]
        t.add_row(a.label, a.best, f"{sum(v == a.best for v in vals) / len(vals):.2f}" if vals else "-")
    console.print(t)
    if human:
        try:
            res = agreement(rows, read_ratings(human))
        except DataError as e:
            fail(str(e))
        t = Table(title="agreement with human ratings")
        for c in ("axis", "n", "percent agreement", "Cohen's kappa"):
            t.add_column(c)
        for a in res:
            t.add_row(a.axis, str(a.n), f"{100 * a.percent:.1f}%", f"{a.kappa:.2f}")
        console.print(t)


@app.command()
@config_options(TuneConfig)
def tune(cfg: TuneConfig,
         max_steps: Optional[int] = typer.Option(None, help="= --sft max_steps=N"),
         learning_rate: Optional[float] = typer.Option(None, help="= --sft learning_rate=X"),
         batch_size: Optional[int] = typer.Option(None, help="= --sft per_device_train_batch_size=N"),
         grad_accum: Optional[int] = typer.Option(None, help="= --sft gradient_accumulation_steps=N"),
         max_length: Optional[int] = typer.Option(None, help="= --sft max_length=N"),
         save_steps: Optional[int] = typer.Option(None, help="= --sft save_steps=N"),
         logging_steps: Optional[int] = typer.Option(None, help="= --sft logging_steps=N"),
         seed: Optional[int] = typer.Option(None, help="= --sft seed=N (and data_seed)")):
    """Instruction-tune a base model on a weighted mixture (TRL SFT + PEFT LoRA); resumable; merged model saved."""
    from clinqa.tune.train import train
    short = dict(max_steps=max_steps, learning_rate=learning_rate, batch_size=batch_size, grad_accum=grad_accum,
                 max_length=max_length, save_steps=save_steps, logging_steps=logging_steps, seed=seed)
    given = {SHORT_OPTIONS[k]: v for k, v in short.items() if v is not None}
    cfg = dataclasses.replace(cfg, sft={**cfg.sft, **given, **({"data_seed": seed} if seed is not None else {})})
    try:
        logging.basicConfig(level=logging.INFO, format="%(message)s")   # the mixture and resume lines
        out = train(cfg)
    except KeyboardInterrupt:
        fail(f"interrupted; checkpoints are in {cfg.output_dir}/checkpoints. Re-run the same command to resume.", 130)
    except (DataError, ValueError) as e:
        fail(str(e))
    console.print(f"tuned model: {out}  (use it with --model {out}; loss curve: {out}/loss.png)", markup=False,
                  soft_wrap=True)


if __name__ == "__main__":
    app()


def main(argv: list[str] | None = None) -> None:
    """The `clinqa` command: the Typer app, with a missing extra reported in one line (exit status 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        app(argv, prog_name="clinqa")
    except ModuleNotFoundError as e:
        line = message(e, argv)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
