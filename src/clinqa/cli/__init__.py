"""The command line: `clinqa` and its groups, one module each (main: the top-level commands; tasks; rate, rate_analyze
and rate_plan: rating studies; judge and judge_run: LLM judges; export). The top layer: nothing imports it."""

from clinqa.cli.main import app, main

__all__ = ["app", "main"]
