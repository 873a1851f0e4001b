"""Instruction tuning: mixture proportions, formatting, resume after an interruption, contamination guard."""

import json

import numpy as np
import pytest
import torch
from transformers import TrainerCallback

from clinqa.data.records import LongFormQuestion, MCQuestion
from clinqa.tune.format import to_example
from clinqa.tune.mixture import Component, Recipe, build_mixture, in_train_part


def test_realised_proportions_match_weights(data_dir):
    recipe = Recipe.load("multimedqa")
    recipe.total = 20_000
    mix = build_mixture(recipe, data_dir)
    assert "healthsearchqa" in mix.skipped and "answers" in mix.skipped["healthsearchqa"]
    assert sum(mix.weights.values()) == pytest.approx(1.0)
    assert mix.weights["medqa"] == pytest.approx(0.375 / (1 - 0.176))
    for d, w in mix.weights.items():
        sd = np.sqrt(w * (1 - w) / recipe.total)
        assert abs(mix.proportions[d] - w) < 4 * sd, (d, mix.proportions[d], w)


def test_train_and_heldout_are_disjoint_and_seeded(data_dir):
    mix = build_mixture(Recipe("t", [Component("medqa", 1.0)], total=50, seed=3), data_dir)
    again = build_mixture(Recipe("t", [Component("medqa", 1.0)], total=50, seed=3), data_dir)
    assert [e.id for e in mix.examples] == [e.id for e in again.examples]
    train = set(mix.train_ids["medqa"])
    assert all(e.id in train for e in mix.examples)
    assert 500 < len(train) < 773 and all(in_train_part(i, 0.5, 3) for i in train)


def test_without_replacement_and_epochs(data_dir):
    mix = build_mixture(Recipe("t", [Component("medqa", .5), Component("liveqa", .5)], epochs=1.0,
                               replacement=False, seed=0), data_dir)
    live = [e.id for e in mix.examples if e.dataset == "liveqa"]
    assert len(live) == len(set(live)) and len(set(live)) <= len(mix.train_ids["liveqa"])
    from clinqa.data import DataError
    with pytest.raises(DataError, match="without replacement"):
        build_mixture(Recipe("t", [Component("liveqa", 1.0)], total=500, replacement=False), data_dir)


def test_user_answers_enable_healthsearchqa(tmp_path, data_dir):
    from clinqa.tasks import load
    qs = load("healthsearchqa", "test", data_dir)[:400]
    f = tmp_path / "answers.jsonl"
    f.write_text("\n".join(json.dumps({"question": q.question, "answer": f"answer {i}"}) for i, q in enumerate(qs)))
    mix = build_mixture(Recipe("t", [Component("healthsearchqa", 1.0, answers=str(f))], total=30), data_dir)
    assert not mix.skipped and all(e.references[0].startswith("answer ") for e in mix.examples)


def test_formatting():
    mc = MCQuestion("x", "Which?", {"A": "a", "B": "b"}, "B", "medmcqa", "dev", explanation="Because b.")
    ex = to_example(mc)
    assert ex["prompt"].endswith("(B) b\n") and ex["completion"].endswith("Because b.\nAnswer: (B)")
    assert to_example(MCQuestion("y", "Q?", {"A": "a", "B": "b"}, "A", "medqa", "test"))["completion"] == "Answer: (A)"
    lf = to_example(LongFormQuestion("z", "Is x safe?", "medicationqa", references=("Yes, mostly.",)))
    assert "consumer questions about medications" in lf["prompt"] and lf["completion"] == " Yes, mostly."


class StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kw):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def _cfg(out, model, data_dir, sft=None, **kw):
    from clinqa.tune.train import TuneConfig
    base = dict(model=str(model), output_dir=str(out), total=48, data_dir=str(data_dir), packing=False)
    steps = dict(max_steps=6, per_device_train_batch_size=2, max_length=96, save_steps=3, logging_steps=1)
    return TuneConfig(**{**base, **kw}, sft={**steps, **(sft or {})})


def _weights(folder):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def test_resume_after_interrupt_gives_the_same_model(tmp_path, tiny_model_dir, data_dir):
    from clinqa.tune.train import train
    full = train(_cfg(tmp_path / "full", tiny_model_dir, data_dir))
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tmp_path / "cut", tiny_model_dir, data_dir), callbacks=[StopAt(3)])
    assert (tmp_path / "cut" / "checkpoints" / "checkpoint-3").is_dir()
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train(_cfg(tmp_path / "cut", tiny_model_dir, data_dir))
    a, b, base = _weights(full), _weights(resumed), _weights(tiny_model_dir)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert any(not torch.allclose(a[k], base[k]) for k in a), "training must change the weights"
    loss = (full / "loss.csv").read_text().splitlines()
    assert loss[0] == "step,loss" and len(loss) == 7 and (full / "loss.png").is_file()


def test_packing_and_full_finetune_run(tmp_path, tiny_model_dir, data_dir):
    from clinqa.tune.train import train
    out = train(_cfg(tmp_path / "p", tiny_model_dir, data_dir, packing=True, lora=False,
                     sft={"max_steps": 2, "save_steps": 10}))
    assert (out / "model.safetensors").is_file()


def test_contamination_guard(tmp_path, tiny_model_dir, data_dir):
    from clinqa.eval import EvalConfig, run_eval
    from clinqa.tune.train import train
    out = train(_cfg(tmp_path / "t", tiny_model_dir, data_dir, sft={"max_steps": 1, "save_steps": 10}))
    trained = set(json.loads((out / "training_ids.json").read_text())["medqa"])
    cfg = EvalConfig(dataset="medqa", strategy="loglik", model=str(out), limit=20, data_dir=str(data_dir),
                      run_dir=str(tmp_path / "contaminated"))
    with pytest.warns(UserWarning, match="contamination"):
        store = run_eval(config=cfg)
    n_overlap = len({r["qid"] for r in store.results()} & trained)
    assert n_overlap > 0 and store.run_info()["model"]["trained_overlap"] == n_overlap
    clean = run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", model=str(out), limit=20, data_dir=str(data_dir),
                                  exclude_trained=str(out), run_dir=str(tmp_path / "clean")))
    assert not {r["qid"] for r in clean.results()} & trained and len(clean.results()) == 20
