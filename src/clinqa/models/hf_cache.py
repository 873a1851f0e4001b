"""A KV cache sized once for a whole decode, written in place: transformers' `DynamicCache` grows by concatenation,
which reallocates and copies every layer's keys and values at every step.

`rows_cache(cache, rows, capacity)` turns a prefilled `DynamicCache` (one entry per distinct prompt) into one with a
row per sample (`rows[i]` = the prompt of row i), each layer's buffer allocated for `capacity` positions. A layer hands
the model views of its filled part, so attention sees exactly the tensors a `DynamicCache` would have held (same
shapes, same values: texts are unchanged). Models with other layer kinds (sliding windows, linear attention) keep
their own cache, gathered into rows the usual way.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


class PresizedLayer(DynamicLayer):
    """A full-attention layer whose keys/values live in buffers of `capacity` positions, filled in place."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.device = key_states.device
        b, h, _, d = key_states.shape
        self._keys = key_states.new_empty((b, h, self.capacity, d))
        self._values = value_states.new_empty((b, h, self.capacity, value_states.shape[-1]))
        self._view()
        self.is_initialized = True

    def _view(self) -> None:
        self.keys, self.values = self._keys[:, :, :self.length], self._values[:, :, :self.length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:                      # never planned for; grow rather than fail
            self.capacity = max(end, 2 * self.capacity)
            grow = self.capacity - self._keys.shape[-2]
            self._keys = torch.nn.functional.pad(self._keys, (0, 0, 0, grow))
            self._values = torch.nn.functional.pad(self._values, (0, 0, 0, grow))
        self._keys[:, :, self.length:end] = key_states
        self._values[:, :, self.length:end] = value_states
        self.length = end
        self._view()
        return self.keys, self.values

    def fill_rows(self, layer: DynamicLayer, rows: torch.Tensor) -> None:
        """Start from `layer`'s prefilled keys/values, row i taking entry rows[i]."""
        keys, values = layer.keys, layer.values
        self.length, self.device, self.is_initialized = keys.shape[-2], keys.device, True
        self._keys = keys.new_empty((len(rows), keys.shape[1], self.capacity, keys.shape[-1]))
        self._values = values.new_empty((len(rows), values.shape[1], self.capacity, values.shape[-1]))
        self._keys[:, :, :self.length] = keys.index_select(0, rows)
        self._values[:, :, :self.length] = values.index_select(0, rows)
        self._view()

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._keys, self._values = self._keys[indices], self._values[indices]
        self._view()

    def reset(self) -> None:
        self.length = 0
        if self.is_initialized:
            self._view()


def presizable(cache: DynamicCache) -> bool:
    """Whether every layer is a plain full-attention layer (the only kind a PresizedLayer replaces)."""
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


def rows_cache(cache: DynamicCache, rows: torch.Tensor, capacity: int) -> DynamicCache:
    """The prefilled `cache` expanded to one row per sample, pre-sized for `capacity` positions where possible."""
    if not presizable(cache):
        cache.batch_select_indices(rows)
        return cache
    new_layers = []
    for layer in cache.layers:
        fresh = PresizedLayer(capacity)
        if layer.is_initialized and layer.get_seq_length() > 0:
            fresh.fill_rows(layer, rows)
        new_layers.append(fresh)
    cache.layers = new_layers
    return cache
