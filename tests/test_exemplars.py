"""Which exemplars a question gets: kNN (nearest pool questions by embedding) end to end, a user's --exemplars file,
MMLU's same-subject dev exemplars; and the hf backend's chat-template path."""

import json

import numpy as np
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.eval import EvalConfig, run_eval

runner = CliRunner()


def test_knn_exemplars_are_the_nearest_pool_questions(tmp_path, tiny_backend, data_dir):
    from clinqa.tasks import load
    from clinqa.strategies.knn import Embedder
    store = run_eval(config=EvalConfig(dataset="mmlu_medical_genetics", strategy="knn", k_shot=2, limit=4,
                                  run_dir=str(tmp_path / "r"), data_dir=str(data_dir)), model=tiny_backend)
    pool = load("mmlu_medical_genetics", "dev", data_dir) + load("mmlu_medical_genetics", "val", data_dir)
    emb = Embedder()
    vectors = emb.encode([p.question for p in pool])
    chosen = []
    for r in store.results():
        sims = vectors @ emb.encode([r["meta"]["question"]])[0]
        expected = [pool[i].id for i in np.argsort(-sims, kind="stable")[:2]]
        assert r["meta"]["exemplars"] == expected
        assert all(pool[[p.id for p in pool].index(e)].question in r["prompts"]["answer"] for e in expected)
        chosen.append(tuple(expected))
    assert len(set(chosen)) > 1, "kNN picks exemplars per question"


def test_exemplars_file_replaces_the_pool(tmp_path, tiny_model_dir, data_dir):
    ex = tmp_path / "ex.jsonl"
    rows = [{"id": f"mine-{i}", "question": f"Zebra question number {i}?", "options": {"A": "a", "B": "b", "C": "c",
             "D": "d"}, "answer": "ABCD"[i], "explanation": f"Because reason {i}."} for i in range(2)]
    ex.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = runner.invoke(app, ["bench", "--task", "medqa", "--strategy", "cot", "--exemplars", str(ex), "--k-shot", "2",
                            "--limit", "2", "--max-tokens", "4", "--model", str(tiny_model_dir), "--data-dir",
                            str(data_dir), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    from clinqa.eval.store import Store
    for row in Store(tmp_path / "r").results():
        assert row["meta"]["exemplars"] == ["mine-0", "mine-1"]
        assert "Zebra question number 1?" in row["prompts"]["cot"] and "Because reason 0." in row["prompts"]["cot"]


def test_mmlu_exemplars_come_from_the_questions_own_subject(tmp_path, tiny_backend, data_dir):
    store = run_eval(config=EvalConfig(dataset="mmlu", strategy="fewshot", limit=12, max_tokens=2,
                                  run_dir=str(tmp_path / "r"), data_dir=str(data_dir)), model=tiny_backend)
    rows = store.results()
    assert len({r["subject"] for r in rows}) > 2
    for r in rows:
        assert len(r["meta"]["exemplars"]) == 5
        assert all(e.startswith(f"{r['subject']}-dev-") for e in r["meta"]["exemplars"])


def test_hf_renders_through_the_tokenizers_chat_template(tmp_path, tiny_model_dir):
    import shutil

    from clinqa.models import GenRequest, load_model
    chat_dir = tmp_path / "chat-model"
    shutil.copytree(tiny_model_dir, chat_dir)
    cfg = json.loads((chat_dir / "tokenizer_config.json").read_text())
    cfg["chat_template"] = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                            "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    (chat_dir / "tokenizer_config.json").write_text(json.dumps(cfg))
    be = load_model(str(chat_dir))
    r = be.generate([GenRequest("Is aspirin an NSAID?", prefix="Explanation:", max_tokens=3)])[0]
    assert r.rendered_prompt == "<|user|>Is aspirin an NSAID?<|end|><|assistant|>Explanation:"
    raw = load_model(str(chat_dir), chat_template=False).generate([GenRequest("Q?", prefix="A:", max_tokens=2)])[0]
    assert raw.rendered_prompt == "Q?A:"


def test_loglik_scores_raw_text_even_with_a_chat_template(tmp_path, tiny_model_dir):
    """Option scoring is lm-eval's `acc` on the raw k-shot text (as lm-eval without --apply_chat_template): a chat
    template changes generation prompts, never the scored context."""
    import shutil

    from clinqa.models import load_model
    chat_dir = tmp_path / "chat-model"
    shutil.copytree(tiny_model_dir, chat_dir)
    cfg = json.loads((chat_dir / "tokenizer_config.json").read_text())
    cfg["chat_template"] = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}<|assistant|>"
    (chat_dir / "tokenizer_config.json").write_text(json.dumps(cfg))
    pairs = [("Question: which drug?\nAnswer:", " (A)"), ("Question: which drug?\nAnswer:", " (B)")]
    chat, raw = load_model(str(chat_dir)), load_model(str(tiny_model_dir))
    assert chat.chat and not raw.chat
    np.testing.assert_allclose(chat.loglikelihood(pairs), raw.loglikelihood(pairs), atol=1e-5)
