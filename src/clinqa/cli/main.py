"""The `clinqa` command (Typer): the top-level commands (ask, bench, report, compare, answer, autorate, tune, ...)
and the groups from their own modules (`clinqa tasks`, `rate`, `judge`, `export`). Every command is a thin layer over
the Python API; `main` is the console entry point."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from clinqa.cli.common import console, err, fail, interrupted
from clinqa.cli.export import export_app
from clinqa.cli.judge import judge_app
from clinqa.cli.rate import rate_app
from clinqa.cli.run_plan import run_cmd
from clinqa.cli.tasks import tasks_app
from clinqa.data.errors import DataError
from clinqa.extras import message
from clinqa.report import is_choice_run, rows_of
from clinqa.results_view import is_graded_run, parse_rate_line, results_table
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
def bench(ctx: typer.Context,
          dataset: str = typer.Option("medqa", "--task", "--dataset", help="a task (`clinqa tasks list`), "
                                      "path/to/file.py:task, module:task, or hf:<id>"),
          split: Optional[str] = typer.Option(None, help="default: the task's evaluation split"),
          strategy: str = typer.Option("cot", help="fewshot, cot, sc, er, loglik, knn, shuffle"),
          model: str = typer.Option("smollm2-135m-instruct"),
          limit: Optional[int] = typer.Option(None, help="evaluate the first N questions of the run's order; a larger N "
                                              "later extends the same run"),
          order: str = typer.Option("random", help="question order: random (seeded by --seed) or id; never file order"),
          protocol: str = typer.Option("medpalm2", help="prompts: medpalm2 (the paper's), lm-eval (lm-evaluation-harness "
                                       "0.4 tasks), simple-evals (zero-shot, OpenAI simple-evals / inspect_evals)"),
          k_shot: Optional[int] = typer.Option(None, help="exemplars (default: the task's, e.g. 5; PubMedQA 3; MMLU CoT 6)"),
          n_samples: int = typer.Option(11, help="SC paths / ER stage-1 paths / shuffle permutations"),
          n_refine: int = typer.Option(33, help="ER stage-2 refinements"),
          temperature: float = typer.Option(0.7, help="sampling temperature (the paper states none; 0.7 default)"),
          top_p: float = typer.Option(1.0), max_tokens: int = typer.Option(256), seed: int = typer.Option(1234),
          exemplars: Optional[str] = typer.Option(None, help="JSONL of exemplars (question, options, answer, explanation)"),
          chat_template: Optional[bool] = typer.Option(None, "--chat-template/--no-chat-template",
                                                       help="default: the protocol's choice, else the model's template"),
          er_with_answers: bool = typer.Option(False, "--er-with-answers/--er-without-answers",
                                               help="ER stage 2 shows stage-1 reasonings with their answer statements "
                                               "(default: without, as the paper prints them)"),
          adaptive: bool = typer.Option(False, help="SC/ER: sample in batches and stop once the vote is settled"),
          adaptive_batch: int = typer.Option(4, help="samples drawn per batch in adaptive mode"),
          stop_rule: str = typer.Option("beta", help="adaptive stopping: beta (Adaptive-Consistency) or certain"),
          confidence: float = typer.Option(0.95, help="beta rule: stop when P(leader is the majority) >= this"),
          dtype: str = typer.Option("auto", help="hf backend weights: auto (float32 on CPU; on GPUs bfloat16 and "
                                    "device_map=auto over all GPUs), bfloat16, float16, float32"),
          concurrency: Optional[int] = typer.Option(None, help="questions in flight at once; their requests reach the "
                                                    "model in batches (default: the backend's: hf 16 on GPUs, 1 on CPUs; vllm 64; "
                                                    "llamacpp 1); results do not depend on it"),
          exclude_trained: Optional[str] = typer.Option(None, help="a `clinqa tune` output dir: skip its training questions"),
          grader: Optional[str] = typer.Option(None, help="graded tasks (healthbench, kqa): the grading model "
                                               "(default: --model)"),
          data_dir: Optional[str] = typer.Option(None), run_dir: Optional[str] = typer.Option(None),
          config: Optional[Path] = typer.Option(None, help="YAML/JSON file of these options (by their config names, "
                                                "e.g. n_samples); options given on the command line win"),
          report_to: str = typer.Option("none", help="also log metrics and config to mlflow, wandb, tensorboard "
                                        "(comma-separated) or none"),
          runs_root: Path = typer.Option(Path("runs"), help="where run directories are made")):
    """Evaluate a model on a multiple-choice task. Re-running the same command resumes an interrupted run; a larger
    --limit extends it."""
    from clinqa.config import build_config
    from clinqa.eval import EvalConfig, run_eval
    from clinqa.report import print_metrics
    from clinqa.tracking import parse_report_to
    try:
        cfg = build_config(EvalConfig, ctx, config)
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
    if is_graded_run(rows_of(store)):
        console.print(results_table(store))
        console.print(parse_rate_line(store))
    else:
        print_metrics(console, [store])
    console.print(f"run directory: {store.dir}  (HTML: clinqa report {store.dir})", markup=False, soft_wrap=True)
    if report_to != "none":
        from clinqa.tracking import report_run
        for tracker, where in report_run(store, report_to).items():
            console.print(f"logged to {tracker}: {where}")


@app.command()
def report(runs: List[Path] = typer.Argument(..., help="run directories from `clinqa bench`"),
           out: Optional[Path] = typer.Option(None, help="HTML file (default: <run>/report.html for one run; "
                                              "<parent>/reports/<run>+<run>.html for several)"),
           table: bool = typer.Option(True, "--table/--no-table", help="print the results table")):
    """Print a results table and each run's configuration, and write an HTML report with per-question drill-down
    and an accuracy plot."""
    from clinqa.report import config_line, default_out, labels, print_metrics, write_html
    from clinqa.eval.store import Store
    try:
        stores = [Store.open_existing(r) for r in runs]
    except (FileNotFoundError, DataError) as e:
        fail(str(e))
    rubric = [s for s in stores if is_graded_run(rows_of(s))]
    if table:
        for s in rubric:                    # graded runs: HealthBench's scores, K-QA's metrics
            console.print(results_table(s))
            console.print(parse_rate_line(s))
        if len(rubric) < len(stores):
            print_metrics(console, [s for s in stores if s not in rubric])
    for s, name in zip(stores, labels(stores)):
        console.print(config_line(s, name), markup=False, highlight=False, soft_wrap=True)
    choice = [s for s in stores if is_choice_run(rows_of(s))]
    for s in stores:
        if s not in choice:
            console.print(f"{s.dir}: the HTML report covers multiple-choice runs; `clinqa export inspect {s.dir}` "
                          "shows this run's samples in inspect's viewer", markup=False, soft_wrap=True)
    if choice:
        path = write_html(choice, out or default_out(choice))
        console.print(f"wrote {path} (+ .png, .svg)", markup=False, soft_wrap=True)


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
def answer(ctx: typer.Context,
           dataset: str = typer.Option("liveqa", "--task", "--dataset", help="a long-form task (`clinqa tasks list`: "
                                       "liveqa, medicationqa, healthsearchqa, multimedqa140, adversarial_general, ...), "
                                       "equitymedqa:<subset>, path/to/file.py:task, or a .csv/.jsonl of questions"),
           model: str = typer.Option("smollm2-135m-instruct"),
           source: Optional[str] = typer.Option(None, help="name of this answer source in studies (default: model)"),
           limit: Optional[int] = typer.Option(None), max_tokens: int = typer.Option(384),
           temperature: float = typer.Option(0.0, help="0 = greedy, as the paper's long-form answers"),
           seed: int = typer.Option(1234),
           debias: Optional[bool] = typer.Option(None, "--debias/--no-debias",
                                                 help="bias instruction (default: on for adversarial/equity sets)"),
           chat_template: Optional[bool] = typer.Option(None, "--chat-template/--no-chat-template"),
           split: Optional[str] = typer.Option(None, help="default: the task's evaluation split"),
           data_dir: Optional[str] = typer.Option(None), run_dir: str = typer.Option("runs/answers"),
           concurrency: Optional[int] = typer.Option(None, help="questions in flight at once, their requests batched "
                                                     "(default: the backend's); results do not depend on it"),
           config: Optional[Path] = typer.Option(None, help="YAML/JSON file of these options; the command line wins")):
    """Generate long-form answers with the paper's prompt into a resumable store (with full provenance). The same
    source with different options is refused."""
    from clinqa.config import build_config
    from clinqa.longform.answer import AnswerConfig, run_answers
    try:
        cfg = build_config(AnswerConfig, ctx, config)
    except (ValueError, DataError) as e:
        fail(str(e))
    from clinqa.progress import RunProgress
    with RunProgress(err, f"answers {dataset}", describe=lambda i: str(i.get("qid", ""))) as bar:
        try:
            store = run_answers(cfg, progress=bar)
        except KeyboardInterrupt:
            bar.stop()
            interrupted("interrupted; finished answers are saved. Re-run the same command to resume.")
        except (DataError, ValueError) as e:
            bar.stop()
            fail(str(e))
    rows = store.answers(source or model)
    console.print(f"{len(rows)} answers from {source or model} in {store.path}", markup=False, soft_wrap=True)
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
def autorate(run_dir: Path, grader: List[str] = typer.Option(["smollm2-135m-instruct"], help="grader model; repeat "
                                                               "for a jury (majority / mean of the graders)"),
             kind: str = typer.Option("physician", help="physician, lay or pairwise"),
             sources: Optional[str] = typer.Option(None, help="comma list; pairwise needs exactly two"),
             rubric: Optional[Path] = typer.Option(None, help="rubric JSON (default: the paper's)"),
             retries: int = typer.Option(3, help="extra attempts after malformed output"),
             human: Optional[Path] = typer.Option(None, help="human ratings (long table, as `rate analyze` reads) to compare with"),
             concurrency: Optional[int] = typer.Option(None, min=1, help="ratings in flight at once, their grader "
                                                       "requests batched (default: the backend's own)")):
    """Rate stored answers with an LLM grader (or a jury of several) using the human study's rubric; optionally
    measure agreement."""
    from clinqa.analysis.table import read_ratings
    from clinqa.analysis.agreement import agreement
    from clinqa.judge.autorate import autorate as run_autorate
    from clinqa.models import load_model
    from clinqa.data.rubric import load_rubric
    from clinqa.eval.store import Store
    try:
        store = Store.open_existing(run_dir)
        rb = load_rubric(rubric)
        rb.axes(kind)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    with console.status(f"loading grader(s) {', '.join(grader)} ..."):
        backends = [load_model(g) for g in grader]
    with Progress(TextColumn("[bold]autorate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err) as bar:
        task = bar.add_task("rate", total=None)
        srcs = sources.split(",") if sources else None
        try:
            if len(backends) == 1:
                rows = run_autorate(store, backends[0], kind, srcs, rb, retries,
                                    progress=lambda d, t: bar.update(task, completed=d, total=t),
                                    concurrency=concurrency)
                rater = f"auto:{backends[0].name}"
            else:
                from clinqa.judge.jury import autorate_jury
                by_rater = autorate_jury(store, backends, kind, srcs, rb, retries,
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
def tune(recipe: str = typer.Option("multimedqa", help="built-in recipe name or a recipe JSON file"),
         model: str = typer.Option("gemma3-270m", help="base model: gemma3-270m, a path or a hub id"),
         output: Path = typer.Option(Path("runs/tune"), "--output", help="output directory (resumes if it has checkpoints)"),
         max_steps: int = typer.Option(100), total: Optional[int] = typer.Option(None, help="examples to sample"),
         lora: bool = typer.Option(True, "--lora/--full", help="LoRA adapters (default) or full fine-tuning"),
         lora_r: int = typer.Option(8), lora_alpha: int = typer.Option(16),
         lora_targets: str = typer.Option("q_proj,k_proj,v_proj,o_proj"),
         learning_rate: Optional[float] = typer.Option(None, help="default 2e-4 (LoRA) / 2e-5 (full)"),
         batch_size: int = typer.Option(4), grad_accum: int = typer.Option(1), max_length: int = typer.Option(512),
         packing: bool = typer.Option(True, "--packing/--no-packing"), save_steps: int = typer.Option(25),
         logging_steps: int = typer.Option(5), seed: int = typer.Option(0), data_dir: Optional[str] = typer.Option(None),
         report_to: str = typer.Option("none", help="mlflow, wandb, tensorboard (comma list) or none; offline by "
                                       "default (MLflow: sqlite store beside --output; W&B: offline mode)")):
    """Instruction-tune a base model on a weighted mixture (TRL SFT + PEFT LoRA); resumable; merged model saved."""
    from clinqa.tune.train import TuneConfig, train
    cfg = TuneConfig(model, recipe, str(output), max_steps, total, lora, lora_r, lora_alpha, lora_targets, learning_rate,
                     batch_size, grad_accum, max_length, packing, save_steps, logging_steps, seed, data_dir,
                     report_to=report_to)
    try:
        logging.basicConfig(level=logging.INFO, format="%(message)s")   # the mixture and resume lines
        out = train(cfg)
    except KeyboardInterrupt:
        fail(f"interrupted; checkpoints are in {output}/checkpoints. Re-run the same command to resume.", 130)
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
