"""What opening a results store that is already at the current schema costs: `Store(run_dir)` (the schema check
included) against the floor any store pays, a SQLAlchemy engine on the file and one query. Every run and every test
opens stores, so the ratio should stay close to 1. Prints the median of several rounds of N opens each.

    python benchmarks/store_open.py --opens 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from clinqa.eval.store import DB_NAME, Store


def store_open(run: Path) -> None:
    Store(run).engine.dispose()


def bare_open(run: Path) -> None:
    engine = create_engine(f"sqlite:///{run / DB_NAME}", connect_args={"timeout": 60})
    with engine.connect() as c:
        c.execute(text("SELECT 1")).scalar()
    engine.dispose()


def per_open(fn, run: Path, opens: int, rounds: int) -> float:
    """Median over `rounds` of the seconds one call of `fn(run)` takes, each round `opens` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(opens):
            fn(run)
        times.append((time.perf_counter() - start) / opens)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opens", type=int, default=200, help="opens per round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        store_open(run)                          # created and brought to the current schema once
        store_open(run)                          # warm: whatever a process caches is cached
        store = per_open(store_open, run, args.opens, args.rounds)
        bare = per_open(bare_open, run, args.opens, args.rounds)
    print(f"Store() at the current schema: {store * 1e3:.2f} ms per open; engine + one query: {bare * 1e3:.2f} ms; "
          f"ratio {store / bare:.2f}")


if __name__ == "__main__":
    main()
