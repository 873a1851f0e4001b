"""Reports of benchmark runs: a terminal table (rich), a self-contained HTML page with per-question drill-down (prompt,
every sample, the vote) and a plot of accuracy by strategy with 95% Clopper-Pearson interval bars."""

from __future__ import annotations

import base64
import io
from importlib import resources
from pathlib import Path

from jinja2 import Environment, select_autoescape
from rich.table import Table

from clinqa.metrics import GroupMetrics, group_metrics, letter_distribution, order_note, run_metrics
from clinqa.eval.store import Store


def _parts(store: Store) -> tuple[str, str, str]:
    c = store.run_info().get("config", {})
    model = str(c.get("model"))
    if model.startswith(("/", ".", "~")):       # a local model directory: its name says enough
        model = Path(model).name
    return str(c.get("dataset")), str(c.get("strategy")), model


def label(store: Store) -> str:
    return "/".join(_parts(store))


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
    """'predicted A 31% B 24% ... | gold A 25% ...' for the terminal."""
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


def metrics_table(stores: list[Store]) -> Table:
    t = Table(title="clinqa bench results (accuracy %, 95% intervals)")
    for col in ("run", "group", "n", "accuracy [Clopper-Pearson]", "bootstrap 95%", "no answer", "unparsed samples",
                "tokens", "s/question"):
        t.add_column(col, justify="left" if col in ("run", "group") else "right")
    captions = []
    for s in stores:
        rows = rows_of(s)
        subsets = [group_metrics(f"on {name}'s questions", sub) for name, sub in subset_rows(s, rows, stores)]
        for g in run_metrics(rows, group_by(s)) + subsets:
            t.add_row(label(s), g.group, str(g.n), g.accuracy.fmt(), g.bootstrap.fmt(), f"{100 * g.no_answer:.1f}%",
                      f"{100 * g.unparsed_samples:.1f}%", str(g.tokens), f"{g.seconds / max(g.n, 1):.1f}")
        config = s.run_info().get("config", {})
        captions.append(f"{label(s)} ({config.get('protocol', 'medpalm2')} prompts): {order_note(config)}; "
                        f"{letters_line(rows)}")
    t.caption = "\n".join(captions)
    t.caption_justify = "left"
    return t


def accuracy_plot(stores: list[Store]) -> tuple[bytes, bytes]:
    """PNG and SVG of overall accuracy per run (strategy) with Clopper-Pearson error bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names, gms = [], []
    for s in stores:
        names.append("\n".join(_parts(s)))
        gms.append(run_metrics(rows_of(s))[0])
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(stores) + 2), 3.6))
    acc = [100 * g.accuracy.estimate for g in gms]
    err = [[100 * (g.accuracy.estimate - g.accuracy.low) for g in gms], [100 * (g.accuracy.high - g.accuracy.estimate) for g in gms]]
    ax.bar(range(len(gms)), acc, yerr=err, capsize=6, color="#4C72B0")
    ax.set_xticks(range(len(gms)), names, fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Accuracy by strategy (95% Clopper-Pearson)")
    for i, g in enumerate(gms):
        ax.text(i, 2, f"n={g.n}", ha="center", fontsize=8, color="white")
    fig.tight_layout()
    bufs = []
    for fmt in ("png", "svg"):
        b = io.BytesIO()
        fig.savefig(b, format=fmt, dpi=120)
        bufs.append(b.getvalue())
    plt.close(fig)
    return bufs[0], bufs[1]


def write_html(stores: list[Store], out: Path) -> Path:
    env = Environment(autoescape=select_autoescape(["html"]))
    tpl = env.from_string((resources.files("clinqa") / "resources" / "templates" / "report.html").read_text())
    png, svg = accuracy_plot(stores)
    runs = []
    for s in stores:
        rows = rows_of(s)
        runs.append({"label": label(s), "info": s.run_info(), "metrics": run_metrics(rows, group_by(s)), "rows": rows,
                     "letters": letter_distribution(rows), "order": order_note(s.run_info().get("config", {}))})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tpl.render(runs=runs, plot=base64.b64encode(png).decode()))
    out.with_suffix(".png").write_bytes(png)
    out.with_suffix(".svg").write_bytes(svg)
    return out


__all__ = ["GroupMetrics", "metrics_table", "accuracy_plot", "write_html", "rows_of", "letters_line"]
