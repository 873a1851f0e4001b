"""The hf decode engine's parts: counter-based batch sampling, per-row stops, the pre-sized cache, KV-byte batch
planning and the split-and-retry on out-of-memory."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache

from clinqa.models.base import GenRequest
from clinqa.models.hf_cache import PresizedLayer, rows_cache
from clinqa.models.hf_memory import batch_bytes, kv_bytes_per_token, plan_batches
from clinqa.models.hf_sampling import BatchSampler, RowSpec
from clinqa.models.hf_stopping import RowStops


def _logits(rows: int, vocab: int = 50, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, vocab, generator=torch.Generator().manual_seed(seed)) * 2


def test_a_rows_draw_does_not_depend_on_its_neighbours():
    specs = [RowSpec(1.0, 1.0, 7, 10), RowSpec(0.0, 1.0, None, 10), RowSpec(0.7, 0.9, 3, 10), RowSpec(1.3, 1.0, 7, 10)]
    logits = _logits(len(specs))
    for step in range(5):
        together = BatchSampler(specs, "cpu")(logits, step)
        alone = [int(BatchSampler([s], "cpu")(logits[i:i + 1], step)) for i, s in enumerate(specs)]
        assert together.tolist() == alone
    assert int(BatchSampler(specs[1:2], "cpu")(logits[1:2], 0)) == int(logits[1].argmax())   # greedy row: argmax


def test_draws_follow_the_distribution_and_reproduce_by_seed():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log().expand(4000, 4)
    specs = [RowSpec(1.0, 1.0, seed, 1) for seed in range(4000)]
    drawn = BatchSampler(specs, "cpu")(logits, 0)
    freq = torch.bincount(drawn, minlength=4).float() / 4000
    assert torch.allclose(freq, probs, atol=0.03), freq
    assert torch.equal(drawn, BatchSampler(specs, "cpu")(logits, 0))               # same seeds, same step
    assert not torch.equal(drawn, BatchSampler(specs, "cpu")(logits, 1))           # another step, other draws
    nucleus = BatchSampler([RowSpec(1.0, 0.7, s, 1) for s in range(500)], "cpu")(logits[:500], 0)
    assert set(nucleus.tolist()) == {0, 1}                                          # 0.5 + 0.3 reaches 0.7


def test_stops_end_each_row_at_its_own_token():
    letters = "abcdefghij"
    stops = RowStops([6, 6, 3], eos_ids=[9], stop=["cd"],
                     decode_batch=lambda rows: ["".join(letters[i] for i in ids) for ids in rows], device="cpu")
    out = torch.tensor([[0, 1, 2, 3, 4, 5],          # "abcd..": the stop completes at token 4
                        [4, 9, 0, 0, 0, 0],          # end-of-sequence at token 2
                        [0, 0, 0, 0, 0, 0]])         # its own limit: 3
    for step in range(6):
        stops.after_step(out[:, step], step)
        if step % 2 == 1:
            done = stops.sync(out, step + 1)
    assert done and stops.rows(out, 6) == [[0, 1, 2, 3], [4, 9], [0, 0, 0]]


def test_presized_cache_gives_the_logits_of_a_growing_cache(tiny_backend):
    model = tiny_backend.model
    ids = torch.tensor([[5, 17, 33, 41, 8], [7, 7, 19, 2, 60]])
    rows = torch.tensor([0, 1, 1, 0])
    logits = {}
    for kind in ("dynamic", "presized"):
        cache = DynamicCache(config=model.config)
        model(ids[:, :-1], use_cache=True, cache=cache)
        if kind == "presized":
            cache = rows_cache(cache, rows, capacity=10)
            assert all(isinstance(layer, PresizedLayer) for layer in cache.layers)
        else:
            cache.batch_select_indices(rows)
        steps, token = [], ids[rows, -1:]
        for _ in range(4):
            out = model(token, use_cache=True, cache=cache).logits[:, -1]
            steps.append(out)
            token = out.argmax(-1, keepdim=True)
        logits[kind] = torch.stack(steps)
    assert torch.equal(logits["dynamic"], logits["presized"])


def test_batches_are_cut_by_kv_bytes(tiny_backend):
    cfg = tiny_backend.model.config
    per_token = kv_bytes_per_token(cfg, torch.float32)
    assert per_token == cfg.num_hidden_layers * 2 * cfg.num_key_value_heads * (cfg.hidden_size // cfg.num_attention_heads) * 4
    items = [(i, 10, 8, 20) for i in range(6)]                   # 6 requests: 10 prompt tokens, 8 rows, 20 new
    one = batch_bytes(8, 10, 20, per_token, 600)
    assert plan_batches(items, 10_000, 10 * one, per_token, 600) == [list(range(6))]
    assert plan_batches(items, 10_000, 2 * one, per_token, 600) == [[0, 1], [2, 3], [4, 5]]
    assert plan_batches(items, 10_000, 1, per_token, 600) == [[i] for i in range(6)]   # over budget alone: own batch


def test_byte_budget_splits_batches_without_changing_texts(tiny_backend, monkeypatch):
    reqs = [GenRequest(f"Question: {i} which drug?", n=3, temperature=0.8, max_tokens=6, seed=i) for i in range(4)]
    whole = tiny_backend.generate(reqs)
    sizes = []
    orig = tiny_backend._generate_batch
    monkeypatch.setattr(tiny_backend, "_generate_batch", lambda r, t, p: sizes.append(len(r)) or orig(r, t, p))
    monkeypatch.setattr(tiny_backend, "max_batch_bytes", batch_bytes(6, 12, 6, tiny_backend.kv_per_token, 600))
    assert [r.texts for r in tiny_backend.generate(reqs)] == [r.texts for r in whole]
    assert len(sizes) > 1 and max(sizes) < 4


def test_out_of_memory_splits_the_batch_and_retries(tiny_backend, monkeypatch):
    """An injected CUDA out-of-memory error for batches of more than 2 rows: the call still returns every text, equal
    to an unsplit run's, by splitting batches and then a request's samples."""
    reqs = [GenRequest("Question: which drug?", n=5, temperature=1.0, max_tokens=6, seed=3),
            GenRequest("Q: x", max_tokens=5), GenRequest("Question: the kidney?", n=2, temperature=0.9, seed=8,
                                                        max_tokens=7)]
    whole = tiny_backend.generate(reqs)
    orig, seen = tiny_backend._generate_batch, []

    def small_device(r, t, p):
        rows = sum(q.n for q in r)
        seen.append(rows)
        if rows > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return orig(r, t, p)
    monkeypatch.setattr(tiny_backend, "_generate_batch", small_device)
    split = tiny_backend.generate(reqs)
    assert [r.texts for r in split] == [r.texts for r in whole]
    assert [r.completion_tokens for r in split] == [r.completion_tokens for r in whole]
    assert max(seen) > 2 and all(n <= 2 for n in seen[-3:])


def test_out_of_memory_on_one_row_is_raised(tiny_backend, monkeypatch):
    def broke(r, t, p):
        raise torch.OutOfMemoryError("CUDA out of memory (injected)")
    monkeypatch.setattr(tiny_backend, "_generate_batch", broke)
    with pytest.raises(torch.OutOfMemoryError):
        tiny_backend.generate([GenRequest("Q: x", max_tokens=4)])
