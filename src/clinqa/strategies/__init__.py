"""Multiple-choice strategies, each a small unit: fewshot, cot, sc, er, loglik, knn, shuffle."""

from clinqa.strategies.base import Outcome, Draw, Strategy, StrategyConfig
from clinqa.strategies.cot import ChainOfThought
from clinqa.strategies.er import EnsembleRefinement
from clinqa.strategies.fewshot import FewShot
from clinqa.strategies.knn import KNNFewShot
from clinqa.strategies.loglik import LogLikelihood
from clinqa.strategies.sc import SelfConsistency
from clinqa.strategies.shuffle import ChoiceShuffle

STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in (
    FewShot, ChainOfThought, SelfConsistency, EnsembleRefinement, LogLikelihood, KNNFewShot, ChoiceShuffle)}


def make_strategy(name: str, config: StrategyConfig | None = None) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name](config)


__all__ = ["STRATEGIES", "make_strategy", "Outcome", "Draw", "Strategy", "StrategyConfig"]
