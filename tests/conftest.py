"""Shared fixtures: a tiny randomly initialised Llama with a byte-level BPE tokenizer trained here, saved to disk so
that subprocess tests can load it by path, and a scripted backend for strategy tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# tests never reach a model or dataset hub
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from clinqa.models.base import Backend, GenRequest, GenResult

DATA = Path(os.environ.get("CLINQA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
EXEMPLARS = Path(__file__).resolve().parents[1] / "src" / "clinqa" / "resources" / "exemplars" / "medical_cot.jsonl"


def build_tiny_model(folder: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [json.loads(line)["question"] + " " + json.loads(line)["explanation"] for line in EXEMPLARS.open()]
    corpus += ["Question: Answer: (A) (B) (C) (D) (E) Explanation: Let's solve this step-by-step, the answer is"] * 5
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=["<eos>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=fast.vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                      eos_token_id=fast.eos_token_id, pad_token_id=fast.eos_token_id, bos_token_id=None)
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    from clinqa.models import load_model
    return load_model(str(tiny_model_dir))


class ScriptedBackend(Backend):
    """Returns texts from a function of the request; records every request it saw."""

    name = "scripted"

    def __init__(self, respond):
        self.respond, self.requests = respond, []

    def generate(self, requests):
        out = []
        for r in requests:
            self.requests.append(r)
            texts = [self.respond(r, i) for i in range(r.n)]
            out.append(GenResult(texts, [len(t.split()) for t in texts], 10, 0.0, rendered_prompt=r.prompt + r.prefix))
        return out


@pytest.fixture
def scripted():
    return ScriptedBackend


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA}")
    return DATA
