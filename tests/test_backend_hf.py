"""The transformers backend on a tiny random model: sampling, seeding, shared prefill, log-likelihoods."""

import torch

from clinqa.models.base import GenRequest


def test_samples_differ_and_seed_reproduces(tiny_backend):
    req = GenRequest("Question: which drug? Answer:", n=6, temperature=1.0, max_tokens=12, seed=11)
    a = tiny_backend.generate([req])[0]
    b = tiny_backend.generate([req])[0]
    c = tiny_backend.generate([GenRequest(**{**req.__dict__, "seed": 12})])[0]
    assert len(a.texts) == 6 and len(set(a.texts)) > 1, "n samples at T>0 must not collapse to one"
    assert a.texts == b.texts, "a fixed seed must reproduce the same set"
    assert a.texts != c.texts
    assert all(0 < k <= 12 for k in a.completion_tokens) and a.prompt_tokens > 0


def test_greedy_is_deterministic_and_copied(tiny_backend):
    r = tiny_backend.generate([GenRequest("Question: x", n=3, temperature=0.0, max_tokens=8)])[0]
    assert len(set(r.texts)) == 1 and len(r.texts) == 3


def test_shared_prefill_equals_plain_generate(tiny_backend):
    """Decoding from the expanded prefix cache gives the same greedy tokens as transformers' own generate."""
    prompt = "Explanation: Let's solve this step-by-step"
    ours = tiny_backend.generate([GenRequest(prompt, max_tokens=10)])[0].texts[0]
    ids = tiny_backend.tok(prompt, return_tensors="pt").input_ids
    ref = tiny_backend.model.generate(ids, max_new_tokens=10, do_sample=False, attention_mask=torch.ones_like(ids),
                                      pad_token_id=tiny_backend.tok.pad_token_id)
    ref_text = tiny_backend.tok.decode(ref[0, ids.shape[1]:], skip_special_tokens=True)
    assert ours == ref_text


def test_stop_strings_cut_text(tiny_backend):
    r = tiny_backend.generate([GenRequest("a b c", max_tokens=30, temperature=1.0, seed=1, n=4, stop=(" ",))])[0]
    assert all(" " not in t for t in r.texts)


def test_loglikelihood_matches_full_forward(tiny_backend):
    ctx = "Question: which drug?\nAnswer:"
    conts = [" (A)", " (B)", " warfarin sodium"]
    got = tiny_backend.loglikelihood([(ctx, c) for c in conts])
    tok, model = tiny_backend.tok, tiny_backend.model
    for c, g in zip(conts, got):
        whole = tok(ctx + c, add_special_tokens=False).input_ids
        n_ctx = len(tok(ctx, add_special_tokens=False).input_ids)
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([whole[:-1]], device=tiny_backend.device)).logits[0].float(), -1)
        ref = sum(float(logp[i - 1, whole[i]]) for i in range(n_ctx, len(whole)))
        assert abs(ref - g) < 1e-4


def test_stream_yields_the_greedy_text(tiny_backend):
    req = GenRequest("Question: x", max_tokens=8)
    assert "".join(tiny_backend.stream(req)) == tiny_backend.generate([req])[0].texts[0]


def test_n_samples_share_one_prefill(tiny_backend, monkeypatch):
    """33 samples of one prompt: one forward pass over the prompt (batch 1), then 1-token decode steps for 33 rows."""
    shapes = []
    orig = tiny_backend.model.forward

    def spy(*args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        shapes.append(tuple(ids.shape))
        return orig(*args, **kwargs)
    monkeypatch.setattr(tiny_backend.model, "forward", spy)
    prompt = "Question: " + "the patient has a fever " * 20
    n_prompt = tiny_backend.tok(prompt, return_tensors="pt").input_ids.shape[1]
    r = tiny_backend.generate([GenRequest(prompt, n=33, temperature=1.0, max_tokens=4, seed=0)])[0]
    assert len(r.texts) == 33
    assert [s for s in shapes if s[1] > 1] == [(1, n_prompt - 1)], "the prompt must be prefilled exactly once"
    assert all(s == (33, 1) for s in shapes if s[1] == 1)
