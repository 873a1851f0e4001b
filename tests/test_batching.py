"""The batched runner: requests of questions in flight reach the backend together, and nothing a run stores depends
on how they were batched (hf backend: left-padded batches, per-row seeds and token limits)."""

from __future__ import annotations

import threading
import zlib

import pytest

from clinqa.eval.batching import Batcher
from clinqa.models.base import GenRequest
from clinqa.eval import EvalConfig, run_eval

PROMPTS = ["Question: which drug?", "Question: a 45-year-old man presents with chest pain. What next?",
           "Q: x", "Question: a longer question about the kidney and its many functions in health and disease?"]


def test_hf_batch_equals_one_at_a_time(tiny_backend):
    reqs = [GenRequest(p, " Answer:", max_tokens=8 + 3 * i) for i, p in enumerate(PROMPTS)]
    reqs += [GenRequest(p, "", n=3, temperature=0.9, top_p=0.95, max_tokens=10, seed=11 * i) for i, p in enumerate(PROMPTS)]
    alone = [tiny_backend.generate([r])[0] for r in reqs]
    together = tiny_backend.generate(reqs)
    for r, a, b in zip(reqs, alone, together):
        assert a.texts == b.texts and a.completion_tokens == b.completion_tokens
        assert all(c <= r.max_tokens for c in b.completion_tokens)       # each row stops at its own limit
    assert together[0].completion_tokens != together[3].completion_tokens  # so the limits really differed
    sampled = together[len(PROMPTS):]
    assert all(len(set(res.texts)) > 1 for res in sampled)                 # samples of one request differ


def test_hf_batches_split_by_token_budget_change_nothing(tiny_backend, monkeypatch):
    reqs = [GenRequest(p, "", n=2, temperature=0.8, max_tokens=6, seed=5) for p in PROMPTS]
    whole = tiny_backend.generate(reqs)
    monkeypatch.setattr(tiny_backend, "max_batch_tokens", 20)             # forces several batches
    assert [r.texts for r in tiny_backend.generate(reqs)] == [r.texts for r in whole]


def test_hf_loglikelihood_batched_equals_per_pair(tiny_backend):
    pairs = [(p, c) for p in PROMPTS for c in (" A", " B", " the kidney", "")][:-1] + [("", " x y")]
    pairs = [pc for pc in pairs if pc[1]]
    together = tiny_backend.loglikelihood(pairs)
    alone = [tiny_backend.loglikelihood([pc])[0] for pc in pairs]
    assert together == pytest.approx(alone, abs=1e-4)
    assert len(set(round(x, 3) for x in together)) > len(pairs) // 2


class Recording:
    """Wraps a backend and records the size of every call the batcher makes."""

    def __init__(self, inner):
        self.inner, self.calls, self.lock = inner, [], threading.Lock()

    def generate(self, requests):
        with self.lock:
            self.calls.append(["Students' reasonings" in r.prompt for r in requests])
        return self.inner.generate(requests)

    def loglikelihood(self, pairs):
        with self.lock:
            self.calls.append(len(pairs))
        return self.inner.loglikelihood(pairs)

    def describe(self):
        return self.inner.describe()


def test_batcher_gathers_requests_of_all_waiting_workers(tiny_backend):
    rec = Recording(tiny_backend)
    batcher = Batcher(rec)
    out = {}

    def question(i):
        out[i] = batcher.generate([GenRequest(PROMPTS[i], max_tokens=4)])[0].texts
        batcher.retire()

    batcher.register(4)
    threads = [threading.Thread(target=question, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    assert len(rec.calls) == 1 and len(rec.calls[0]) == 4
    assert [out[i] for i in range(4)] == [tiny_backend.generate([GenRequest(p, max_tokens=4)])[0].texts for p in PROMPTS]


def test_batcher_raises_backend_errors_in_every_waiting_question():
    class Broken:
        def generate(self, requests):
            raise RuntimeError("engine died")
    batcher = Batcher(Broken())
    batcher.register(1)
    with pytest.raises(RuntimeError, match="engine died"):
        batcher.generate([GenRequest("x")])
    batcher.close()


def _run(tiny_backend, data_dir, tmp_path, strategy, concurrency, **kw):
    kw = {"n_samples": 3, "n_refine": 4, **kw}
    cfg = EvalConfig(dataset="medqa", strategy=strategy, model="tiny", limit=6, max_tokens=12, data_dir=str(data_dir),
                      run_dir=str(tmp_path / f"{strategy}-{concurrency}"), concurrency=concurrency, **kw)
    rows = run_eval(config=cfg, model=tiny_backend).results()
    return {r["qid"]: (r["prediction"], [s["text"] for s in r["samples"]], r.get("scores")) for r in rows}


@pytest.mark.parametrize("strategy", ["cot", "sc", "er", "loglik"])
def test_runs_are_identical_batched_and_one_at_a_time(tiny_backend, data_dir, tmp_path, strategy):
    one = _run(tiny_backend, data_dir, tmp_path, strategy, 1)
    rec = Recording(tiny_backend)
    many = _run(rec, data_dir, tmp_path, strategy, 6)
    assert len(one) == 6 and set(one) == set(many)
    for qid in one:
        assert one[qid][:2] == many[qid][:2]
        if strategy == "loglik":
            assert one[qid][2] == pytest.approx(many[qid][2], abs=1e-4)
    assert max(len(c) if isinstance(c, list) else c for c in rec.calls) > (4 if strategy == "loglik" else 1)


def test_er_stages_of_different_questions_share_a_batch(scripted, data_dir, tmp_path):
    """Questions whose votes settle at different times fall out of step, and ER stage 1 of one question is decoded
    beside stage 2 of another; the stored outcome is still what a one-at-a-time run stores."""
    def respond(req, i):
        h = zlib.crc32(f"{req.prompt}{req.seed}{i}".encode())
        return f"Because of {h}. The answer is ({'ABCD'[h % 4 if h % 3 else 0]})."
    cfg = dict(adaptive=True, adaptive_batch=1, stop_rule="certain", n_samples=5, n_refine=5)
    one = _run(scripted(respond), data_dir, tmp_path, "er", 1, **cfg)
    rec = Recording(scripted(respond))
    assert _run(rec, data_dir, tmp_path, "er", 6, **cfg) == one
    assert any(len(set(c)) == 2 for c in rec.calls)


def test_long_form_answers_are_batched_and_unchanged(tiny_backend, data_dir, tmp_path):
    from clinqa.longform.answer import AnswerConfig, run_answers
    texts = {}
    for conc in (1, 4):
        rec = Recording(tiny_backend)
        cfg = AnswerConfig(dataset="liveqa", limit=4, max_tokens=10, data_dir=str(data_dir),
                           run_dir=str(tmp_path / f"answers-{conc}"), concurrency=conc)
        store = run_answers(cfg, backend=rec)
        texts[conc] = {a["qid"]: a["text"] for a in store.answers()}
        assert max(len(c) for c in rec.calls) == conc
    assert len(texts[1]) == 4 and texts[1] == texts[4]


def test_autorate_batches_ratings_and_they_do_not_change(tiny_backend, data_dir, tmp_path):
    """`clinqa autorate --concurrency 3`: the grader requests of 3 ratings reach the backend in one call, and every
    rating (raw grader texts included: the tiny model's replies fail to parse, so retries run too) equals the
    one-at-a-time run."""
    import shutil

    from clinqa.longform.answer import AnswerConfig, run_answers
    from clinqa.judge.autorate import autorate
    from clinqa.eval.store import Store
    run_answers(AnswerConfig(dataset="liveqa", limit=3, max_tokens=8, data_dir=str(data_dir),
                             run_dir=str(tmp_path / "answers")), backend=tiny_backend)
    raws = {}
    for conc in (1, 3):
        shutil.copytree(tmp_path / "answers", tmp_path / f"rated-{conc}")
        rec = Recording(tiny_backend)
        rec.name = "tiny"
        rows = autorate(Store.open_existing(tmp_path / f"rated-{conc}"), rec, "lay", retries=1, concurrency=conc)
        raws[conc] = {r["answer_id"]: r["raw"] for r in rows}
        assert max(len(c) for c in rec.calls) == conc
    assert len(raws[1]) == 3 and raws[1] == raws[3]
