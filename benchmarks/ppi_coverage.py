"""Prediction-powered estimates by simulation, 1,000 studies each (the README's numbers; CI runs 400).

A judge biased by a known amount (lenient: its best-bin share is theta + 0.3 (1 - theta) = 0.79 against a truth of
0.70) rates 1,000 answers; physicians rate 100 of them, 3 ratings each. For each method: the share of studies whose
95% interval covers the truth, and the mean interval width. Two judges: one 0/1 vote per answer ("single"), and a
probability per answer (a jury's vote share, "jury"). Then active vs uniform selection at equal expected budget.

    python benchmarks/ppi_coverage.py --studies 1000
"""

from __future__ import annotations

import argparse

from clinqa.analysis.ppi_sim import SimDesign, summarize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    print(f"{args.studies} simulated studies; truth 0.70; judge mean 0.79; 1,000 judged answers, 100 with physicians")
    print(f"{'judge':8} {'method':14} {'coverage':>9} {'mean width':>11} {'width / human-only':>19}")
    for jury in (False, True):
        d = SimDesign(jury=jury)
        res = summarize(d, args.studies, args.seed)
        human_w = res["human-only"][1]
        for m, (cov, w) in res.items():
            print(f"{'jury' if jury else 'single':8} {m:14} {100 * cov:8.1f}% {100 * w:10.1f}pt {w / human_w:19.2f}")
    print("\nactive vs uniform selection, equal expected budget (100 of 1,000), jury judge, Bernoulli sampling")
    res = summarize(SimDesign(jury=True), args.studies, args.seed + 1, active=True)
    for m, (cov, w) in res.items():
        ratio = w / res["uniform"][1]
        print(f"{m:8} coverage {100 * cov:5.1f}%  mean width {100 * w:5.1f}pt  ratio to uniform {ratio:.2f}")


if __name__ == "__main__":
    main()
