"""Reports of multiple-choice runs: a terminal table (rich), what the HTML report shows of them
(`results_view.write_html` writes it for every task kind) and a plot of accuracy by strategy with 95% Clopper-Pearson
interval bars. Beside each run's accuracy stand what it means without knowledge (chance; always the commonest gold
letter), a sentence when it is letter bias, the backend in words and the configuration limited to the settings its
strategy reads."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

from rich.console import Console
from rich.table import Table

from clinqa.metrics import GroupMetrics, baselines, group_metrics, letter_distribution, order_note, run_metrics
from clinqa.eval.store import Store
from clinqa.eval.summary import run_kind
from clinqa.strategies import STRATEGIES, StrategyConfig

STRATEGY_SETTINGS = {f.name for f in dataclasses.fields(StrategyConfig)} - {"seed", "protocol", "adaptive"}


def _parts(store: Store) -> tuple[str, str, str]:
    c = store.run_info().get("config", {})
    model = str(c.get("model"))
    if model.startswith(("/", ".", "~")):       # a local model directory: its name says enough
        model = Path(model).name
    return str(c.get("dataset")), solver_name(c), model


def solver_name(config: dict) -> str:
    """The strategy of a multiple-choice run; a task's own solver otherwise (its name, or its function's)."""
    solver = config.get("solver")
    if solver is None:
        return str(config.get("strategy"))
    return str(solver.get("solver")) if isinstance(solver, dict) else str(solver).rsplit(".", 1)[-1]


def label(store: Store) -> str:
    return "/".join(_parts(store))


def labels(stores: list[Store]) -> list[str]:
    """Each run's label; runs that would share one (the same task, strategy and model) also name their directory."""
    plain = [label(s) for s in stores]
    return [f"{name} ({s.dir.name})" if plain.count(name) > 1 else name for name, s in zip(plain, stores)]


def backend_text(model: dict | None) -> str:
    """The backend a run used, in words: 'llamacpp smollm2-135m-instruct (chat_template: False, threads: 2)'."""
    model = dict(model or {})
    head = " ".join(str(model.pop(k)) for k in ("backend", "name") if model.get(k) is not None)
    rest = ", ".join(f"{k}: {v}" for k, v in model.items() if v not in (None, "", {}))
    return f"{head} ({rest})" if rest else head or "unknown"


def shown_config(config: dict) -> dict:
    """The stored configuration without the strategy settings its strategy never reads (no n_refine on a greedy
    run); a run answered by another solver than a strategy (a task's own, a conversation's) reads none of them: its
    solver's identity says what it reads."""
    strategy = STRATEGIES.get(str(config.get("strategy")))
    unused = STRATEGY_SETTINGS - set(strategy.uses) if strategy else set()
    if config.get("solver") is not None and "StrategySolver" not in str(config["solver"]):
        unused = STRATEGY_SETTINGS | {"strategy", "protocol", "adaptive", "exemplars"}
    return {k: v for k, v in config.items() if k not in unused}


def config_line(store: Store, name: str | None = None) -> str:
    shown = shown_config(store.run_info().get("config", {}))
    return f"{name or label(store)} configuration: " + ", ".join(f"{k}={v}" for k, v in shown.items() if v is not None)


def default_out(stores: list[Store]) -> Path:
    """One run's report lives in its directory; a report of several runs gets its own file beside them (under
    reports/), so it never replaces one run's own report."""
    if len(stores) == 1:
        return stores[0].dir / "report.html"
    name = "+".join(s.dir.name for s in stores)
    if len(name) > 120:
        name = f"{stores[0].dir.name[:60]}+{len(stores) - 1}-more-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return stores[0].dir.parent / "reports" / f"{name}.html"


def group_by(store: Store) -> str | None:
    """The result field the run's task reports accuracy by (`Task.group_by`), if any."""
    from clinqa.data.errors import DataError
    from clinqa.tasks import get_task
    try:
        return get_task(str(store.run_info().get("config", {}).get("dataset"))).group_by
    except DataError:
        return None


def rows_of(store: Store) -> list[dict]:
    """The store's finished questions; after `run_eval`, only those of that invocation's plan (`store.planned`)."""
    rows = store.results()
    planned = getattr(store, "planned", None)
    return rows if planned is None else [r for r in rows if r["qid"] in planned]


def letters_line(rows: list[dict]) -> str:
    """'predicted A 31% B 24% ... | gold A 25% ...' for the terminal: every option letter, 0% ones too."""
    dist = letter_distribution(rows)
    pred = " ".join(f"{L} {100 * p:.0f}%" for L, (p, _) in dist.items())
    gold = " ".join(f"{L} {100 * g:.0f}%" for L, (_, g) in dist.items() if L != "none")
    return f"extracted letters: {pred}  |  gold: {gold}"


def subset_rows(store: Store, rows: list[dict], stores: list[Store]) -> list[tuple[str, list[dict]]]:
    """(task of another run, this run's rows on that run's questions) for every other run whose questions are a
    proper subset of this run's: a `medqa` run reported beside a `medqa-sound` run is also scored on its questions."""
    ids = {r["qid"] for r in rows}
    out = []
    for other in stores:
        theirs = {r["qid"] for r in rows_of(other)} if other is not store else set()
        if theirs and theirs < ids:
            out.append((_parts(other)[0], [r for r in rows if r["qid"] in theirs]))
    return out


def baseline_lines(rows: list[dict]) -> list[str]:
    """The chance and majority-letter line, and the letter-bias sentence when it applies."""
    b = baselines(rows)
    note = b.bias_note(run_metrics(rows)[0].accuracy.estimate) if rows else None
    return [f"baselines: {b.line()}"] + ([note] if note else [])


def metrics_table(stores: list[Store]) -> Table:
    t = Table(title="clinqa bench results (accuracy %, 95% intervals)")
    for col in ("run", "group", "n", "accuracy [Clopper-Pearson]", "bootstrap 95%", "no answer", "unparsed samples",
                "tokens", "s/question"):      # numbers never wrap: an interval cut mid-number misreads
        t.add_column(col, justify="left" if col in ("run", "group") else "right", no_wrap=col not in ("run", "group"))
    for s, name in zip(stores, labels(stores)):
        rows = rows_of(s)
        subsets = [group_metrics(f"on {other}'s questions", sub) for other, sub in subset_rows(s, rows, stores)]
        for g in run_metrics(rows, group_by(s)) + subsets:
            t.add_row(name, g.group, str(g.n), g.accuracy.fmt(), g.bootstrap.fmt(), f"{100 * g.no_answer:.1f}%",
                      f"{100 * g.unparsed_samples:.1f}%", str(g.tokens), f"{g.seconds / max(g.n, 1):.1f}")
    return t


def summary_lines(stores: list[Store]) -> list[str]:
    """Under the table, per run: its prompts and question order, the letters line, the baselines and any letter-bias
    sentence (plain lines: printed soft-wrapped, never cut into the width of the table)."""
    lines = []
    for s, name in zip(stores, labels(stores)):
        rows, config = rows_of(s), s.run_info().get("config", {})
        if run_kind(rows) != "mc":
            lines.append(f"{name}: {order_note(config)}")
            continue
        lines.append(f"{name} ({config.get('protocol', 'medpalm2')} prompts): {order_note(config)}; "
                     f"{letters_line(rows)}")
        lines += [f"  {line}" for line in baseline_lines(rows)]
    return lines


def print_metrics(console: Console, stores: list[Store]) -> None:
    """The results table, then the summary lines (whole: a terminal wraps them itself, a pipe gets one line each)."""
    console.print(metrics_table(stores))
    for line in summary_lines(stores):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def accuracy_figure(stores: list[Store]):
    """A matplotlib figure of overall accuracy per run with Clopper-Pearson error bars and each run's baselines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names, gms, bls = [], [], []
    for s, name in zip(stores, labels(stores)):
        parts = list(_parts(s)) + ([f"({s.dir.name})"] if name != label(s) else [])
        names.append("\n".join(parts))
        rows = rows_of(s)
        gms.append(run_metrics(rows)[0])
        bls.append(baselines(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 * len(stores) + 2.5), 4.0))
    acc = [100 * g.accuracy.estimate for g in gms]
    err = [[100 * (g.accuracy.estimate - g.accuracy.low) for g in gms], [100 * (g.accuracy.high - g.accuracy.estimate) for g in gms]]
    ax.bar(range(len(gms)), acc, yerr=err, capsize=6, color="#4C72B0")
    for i, b in enumerate(bls):      # each run's own baselines (runs may be of different tasks)
        ax.hlines(100 * b.chance, i - 0.45, i + 0.45, colors="#b42318", linestyles="--",
                  label="chance" if i == 0 else None)
        ax.hlines(100 * b.majority, i - 0.45, i + 0.45, colors="#8a5a00", linestyles=":",
                  label="always the commonest gold letter" if i == 0 else None)
    ax.set_xticks(range(len(gms)), names, fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Accuracy by run\n(bars: 95% Clopper-Pearson)", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    for i, g in enumerate(gms):
        ax.text(i, 2, f"n={g.n}", ha="center", fontsize=8, color="white")
    fig.tight_layout()
    return fig


def accuracy_plot(stores: list[Store]) -> tuple[bytes, bytes]:
    """PNG and SVG of `accuracy_figure`."""
    import matplotlib.pyplot as plt
    fig = accuracy_figure(stores)
    bufs = []
    for fmt in ("png", "svg"):
        b = io.BytesIO()
        fig.savefig(b, format=fmt, dpi=120)
        bufs.append(b.getvalue())
    plt.close(fig)
    return bufs[0], bufs[1]


__all__ = ["GroupMetrics", "metrics_table", "print_metrics", "summary_lines", "accuracy_plot", "rows_of", "letters_line", "labels",
           "config_line", "default_out", "backend_text", "shown_config"]
