"""clinqa: build, run and judge medical question-answering LLMs the way Med-PaLM 2 did.

Layers: data -> models -> prompts + strategies + extract -> runner + store -> stats/metrics -> report; cli on top.
"""

__version__ = "0.1.0"
