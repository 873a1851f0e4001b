"""Randomly initialised Llama models with a byte-level BPE tokenizer trained on clinqa's own exemplars: what tests
use where no real model is needed, and what benchmarks use on machines that cannot download one (`random:<size>`).
Their answers are noise; their speed, memory and batch behaviour are those of a real model of that shape."""

from __future__ import annotations

import json
from pathlib import Path

SIZES = {
    "tiny": dict(vocab=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=4, max_position_embeddings=4096),
    "1b": dict(vocab=2000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, max_position_embeddings=8192),
}


def build_random_model(folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """Save a random Llama of `size` and its tokenizer to `folder` (kept if already there); returns the folder."""
    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    shape = dict(SIZES[size])
    exemplars = Path(__file__).resolve().parents[1] / "resources" / "exemplars" / "medical_cot.jsonl"
    corpus = [json.loads(line)["question"] + " " + json.loads(line)["explanation"] for line in exemplars.open()]
    corpus += ["Question: Answer: (A) (B) (C) (D) (E) Explanation: Let's solve this step-by-step, the answer is"] * 5
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=shape.pop("vocab"), special_tokens=["<eos>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=fast.vocab_size, eos_token_id=fast.eos_token_id, pad_token_id=fast.eos_token_id,
                      bos_token_id=None, **shape)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
