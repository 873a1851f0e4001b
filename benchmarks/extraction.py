"""Answer extraction on the hand-labelled corpus of real and documented model outputs
(tests/fixtures/extraction_corpus.jsonl, described in tests/fixtures/README_extraction_corpus.md).

Prints accuracy overall, by source and by style, and every item read wrongly (what was read vs the label). A label of
null means a careful human could read no answer: the extractor must then say "no answer" too.

    python benchmarks/extraction.py [--corpus FILE] [--protocol medpalm2|simple-evals]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from clinqa.prompts import get_protocol

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "extraction_corpus.jsonl"


def read_corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(items: list[dict], protocol: str = "medpalm2") -> tuple[float, list[dict]]:
    p = get_protocol(protocol)
    wrong = [dict(it, read=p.extract(it["text"], it["options"])) for it in items]
    wrong = [it for it in wrong if it["read"] != it["label"]]
    return 1 - len(wrong) / len(items), wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--protocol", default="medpalm2")
    args = ap.parse_args()
    items = read_corpus(args.corpus)
    acc, wrong = score(items, args.protocol)
    print(f"{len(items)} labelled outputs; read correctly: {100 * acc:.1f}% ({len(items) - len(wrong)}/{len(items)})")
    for key in ("source", "style"):
        groups = defaultdict(list)
        for it in items:
            groups[it[key]].append(it)
        print(f"\nby {key}:")
        for name, its in sorted(groups.items()):
            a, _ = score(its, args.protocol)
            print(f"  {name:45s} {len(its):4d}  {100 * a:5.1f}%")
    if wrong:
        print("\nread wrongly:")
        for it in wrong:
            print(f"  {it['id']} [{it['style']}] label {it['label']} read {it['read']}: {it['text'][:160]!r}")


if __name__ == "__main__":
    main()
