"""Answer extraction on the hand-labelled corpus of real and documented model outputs
(tests/fixtures/extraction_corpus.jsonl, described in tests/fixtures/README_extraction_corpus.md).

Prints accuracy overall, by source and by style, and every item read wrongly (what was read vs the label). A label of
null means a careful human could read no answer: the extractor must then say "no answer" too.

    python benchmarks/extraction.py [--corpus FILE] [--protocol medpalm2|simple-evals] [--judge MODEL]

`--judge MODEL` (off by default) also reports, separately, the accuracy when the outputs the rules leave unread go to
an LLM judge (clinqa.extract_judge), e.g. `--judge llamacpp:qwen2.5-coder-1.5b-instruct`.
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
    ap.add_argument("--judge", default=None, help="a model that reads what the rules leave unread (off by default)")
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
    if args.judge:
        judged(items, args.judge)


def judged(items: list[dict], model: str) -> None:
    """The rules plus an LLM judge for what they leave unread, reported apart from the rules' own accuracy."""
    from clinqa.extract_judge import extract_with_judge
    from clinqa.models import load_model
    reads = extract_with_judge([(it["text"], it["options"]) for it in items], load_model(model))
    right = sum(letter == it["label"] for (letter, _), it in zip(reads, items))
    by_judge = [(letter, it) for (letter, how), it in zip(reads, items) if how == "judge"]
    wrong = [it["id"] for letter, it in by_judge if letter != it["label"]]
    print(f"\nwith LLM judge fallback ({model}): {100 * right / len(items):.1f}% ({right}/{len(items)}); "
          f"the judge read {len(by_judge)} outputs the rules left unread, {len(wrong)} of them wrongly: {wrong}")


if __name__ == "__main__":
    main()
