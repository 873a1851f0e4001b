"""Memory planning for the hf backend: how many rows a decode batch may hold, and what the device has in use.

A decode batch of R rows, prompts padded to W tokens and up to M new tokens, holds R x (W + M) x (bytes of KV per
token) of cache — bytes per token = layers x 2 x KV heads x head dim x dtype bytes, read from the model config — plus
per-row logits and sampling buffers (vocabulary x float32, a few copies). Batches are cut so that this stays within
the budget: the backend's `max_batch_bytes`, or (default) 70% of the device memory free now, counting memory PyTorch
holds reserved but unused.

Importing this module sets `PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True` unless the user set it: the caching
allocator then grows segments instead of keeping many differently-sized ones, so reserved memory stays near
allocated (one synthetic ER stage had reserved 138 GiB for 20 GiB allocated without it).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

import torch  # noqa: E402  (after the allocator setting, which CUDA reads when it first allocates)

SAMPLING_COPIES = 6            # logits in float32, scaled scores, noise, sort values/indices, mask: per row x vocab
FREE_FRACTION = 0.7            # of free device memory, for the default budget (activations need the rest)


def kv_bytes_per_token(config, dtype: torch.dtype) -> int:
    """Bytes of key/value cache one token takes over all layers."""
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    heads = text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    return text.num_hidden_layers * 2 * kv_heads * head_dim * dtype.itemsize


def batch_bytes(rows: int, width: int, new_tokens: int, kv_per_token: int, vocab: int) -> int:
    """Estimated bytes a decode batch holds at its last step."""
    return rows * ((width + new_tokens) * kv_per_token + vocab * 4 * SAMPLING_COPIES)


def free_bytes(device: str) -> int:
    """Memory a batch may still use on `device`: free device memory plus what PyTorch reserved but does not use
    (CUDA), or the host's available memory (CPU)."""
    if device.startswith("cuda"):
        dev = torch.device(device)
        free, _ = torch.cuda.mem_get_info(dev)
        return free + torch.cuda.memory_reserved(dev) - torch.cuda.memory_allocated(dev)
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def budget_bytes(device: str, max_batch_bytes: int | None) -> int:
    return max_batch_bytes if max_batch_bytes else int(FREE_FRACTION * free_bytes(device))


def plan_batches(items: list[tuple[int, int, int, int]], max_tokens: int, max_bytes: int, kv_per_token: int,
                 vocab: int) -> list[list[int]]:
    """Cut `items` — (index, prompt tokens, rows, new tokens), in the order given — into consecutive groups whose
    padded prompt tokens stay within `max_tokens` and whose estimated bytes stay within `max_bytes` (an item over
    either forms its own group)."""
    out, cur = [], []
    width = rows = new = 0
    for idx, n_prompt, n_rows, n_new in items:
        w, r, m = max(width, n_prompt), rows + n_rows, max(new, n_new)
        if cur and (w * (len(cur) + 1) > max_tokens or batch_bytes(r, w, m, kv_per_token, vocab) > max_bytes):
            out.append(cur)
            cur, w, r, m = [], n_prompt, n_rows, n_new
        cur.append(idx)
        width, rows, new = w, r, m
    return out + ([cur] if cur else [])


def release_cached(device: str) -> None:
    """Return cached blocks to the device after an out-of-memory error, before a retry."""
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def memory_report(device: str) -> dict:
    """Allocated and reserved device memory now and at peak, in MiB (CUDA only; {} elsewhere)."""
    if not device.startswith("cuda"):
        return {}
    dev = torch.device(device)
    mib = 2 ** 20
    return {"allocated_mib": round(torch.cuda.memory_allocated(dev) / mib),
            "reserved_mib": round(torch.cuda.memory_reserved(dev) / mib),
            "peak_allocated_mib": round(torch.cuda.max_memory_allocated(dev) / mib),
            "peak_reserved_mib": round(torch.cuda.max_memory_reserved(dev) / mib),
            "alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", "")}
