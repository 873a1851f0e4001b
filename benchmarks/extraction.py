"""Answer extraction on the hand-labelled corpora of real and written model outputs (tests/fixtures/extraction_*.jsonl,
described in tests/fixtures/README_extraction_corpus.md).

For each corpus it prints the share read right (the label's letter, or "no answer" where the label is null), the
share read as a wrong letter, precision (right letters / letters given) and recall (right letters / items with a
letter label); then accuracy by source and by style, and every item read wrongly (what was read vs the label).

    python benchmarks/extraction.py [--corpus FILE ...] [--protocol medpalm2|simple-evals] [--summary] [--judge MODEL]

Default corpora: `extraction_corpus.jsonl` (the original 352), `extraction_new.jsonl` (issue 24's development set)
and `extraction_heldout.jsonl` ... `extraction_heldout39.jsonl` (issue 24's held-out sets, each written and committed
before the reader was run on it).
`--summary` prints only the table (use it on the held-out set, so its items are not read while tuning the rules).
`--judge MODEL` (off by default) also reports, separately, what an LLM judge (clinqa.extract_judge) makes of the
outputs the rules leave unread, e.g. `--judge llamacpp:smollm2-135m-instruct`.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from clinqa.extract_judge import extract_with_judge
from clinqa.models import load_model
from clinqa.prompts import get_protocol

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
HELDOUT_ROUNDS = 39        # extraction_heldout.jsonl, extraction_heldout2.jsonl ... extraction_heldout39.jsonl
CORPORA = [FIXTURES / f"extraction_{name}.jsonl"
           for name in ["corpus", "new", "heldout"] + [f"heldout{n}" for n in range(2, HELDOUT_ROUNDS + 1)]]


def read_corpus(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def measure(items: list[dict], reads: list[str | None]) -> dict:
    """Right, wrong-letter, precision and recall counts of `reads` against the items' labels."""
    given = [(r, it["label"]) for r, it in zip(reads, items) if r is not None]
    letters = sum(it["label"] is not None for it in items)
    hits = sum(r == lab for r, lab in given)
    return {"items": len(items), "right": sum(r == it["label"] for r, it in zip(reads, items)),
            "wrong_letter": len(given) - hits, "given": len(given), "hits": hits, "letters": letters}


def row(name: str, m: dict) -> str:
    pct = lambda a, b: f"{100 * a / b:5.1f}%" if b else "    -"
    return (f"| {name} | {m['items']} | {pct(m['right'], m['items'])} ({m['right']}) | "
            f"{pct(m['wrong_letter'], m['items'])} ({m['wrong_letter']}) | {pct(m['hits'], m['given'])} | "
            f"{pct(m['hits'], m['letters'])} ({m['hits']}/{m['letters']}) |")


HEADER = ("| corpus | items | right | wrong letter | precision | recall |\n"
          "|---|---:|---:|---:|---:|---:|")


def details(items: list[dict], reads: list[str | None]) -> None:
    for key in ("source", "style"):
        groups = defaultdict(list)
        for it, r in zip(items, reads):
            groups[it[key]].append(r == it["label"])
        print(f"\nby {key}:")
        for name, oks in sorted(groups.items()):
            print(f"  {name:45s} {len(oks):4d}  {100 * sum(oks) / len(oks):5.1f}%")
    wrong = [(it, r) for it, r in zip(items, reads) if r != it["label"]]
    if wrong:
        print("\nread wrongly:")
        for it, r in wrong:
            print(f"  {it['id']} [{it['style']}] label {it['label']} read {r}: {it['text'][:160]!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, action="append", help="a labelled JSONL file (repeatable; default: all)")
    ap.add_argument("--protocol", default="medpalm2")
    ap.add_argument("--summary", action="store_true", help="only the precision/recall table, no items")
    ap.add_argument("--judge", default=None, help="a model that reads what the rules leave unread (off by default)")
    args = ap.parse_args()
    protocol = get_protocol(args.protocol)
    judge = load_model(args.judge) if args.judge else None
    table, judged = [HEADER], [HEADER.replace("recall |", "recall | judge read (wrongly) |") + "---:|"]
    for path in args.corpus or CORPORA:
        items = read_corpus(path)
        reads = [protocol.extract(it["text"], it["options"]) for it in items]
        table.append(row(path.name, measure(items, reads)))
        if not args.summary:
            print(f"\n== {path.name}: {len(items)} labelled outputs")
            details(items, reads)
        if judge is not None:
            out = extract_with_judge([(it["text"], it["options"]) for it in items], judge)
            table_reads = [letter for letter, _ in out]
            by_judge = [(letter, it) for (letter, how), it in zip(out, items) if how == "judge"]
            judged.append(row(path.name, measure(items, table_reads))
                          + f" {len(by_judge)} ({sum(l != it['label'] for l, it in by_judge)}) |")
    print("\nrules only:\n" + "\n".join(table))
    if judge is not None:
        print(f"\nrules + LLM judge fallback ({args.judge}), on what the rules left unread:\n" + "\n".join(judged))


if __name__ == "__main__":
    main()
