"""Many sequences decoded together on one llama.cpp context: the llama.cpp backend's sampler for n samples and for
batches of requests.

llama.cpp decodes several sequences in one `llama_decode` call when its context is made with `n_seq_max > 1`. Each
sequence here has a KV stream of its own (`kv_unified` off), so what a sequence attends to, and hence its logits, do
not depend on which other sequences share the batch: a sample's text is the same alone, beside its request's other
samples, or beside other questions' requests (tested). With the unified cache instead, the reductions over the shared
cells changed with the batch and so did the texts (measured: 1 of 3 requests differed after ~20 tokens). A request's
prompt is prefilled once, in the stream of its first sample, and copied to the streams of its other samples
(`llama_memory_seq_cp`); each decode step then advances every live sequence of the wave with one pass over the weights.

Sampling is llama.cpp's own sampler chain, one per sequence: a grammar first where the request has a JSON schema,
then temperature, then nucleus (top-p) as transformers and vLLM apply them, then a draw with the sequence's own seed (sample i of a request with seed s draws with s + i), or
argmax for greedy requests. No min-p or top-k: llama-cpp-python's `create_completion` adds min_p=0.05 by default,
which the other backends do not.

A wave holds up to `n_seq_max` sequences; a request with more samples is decoded in chunks of waves, the prompt kept in
stream 0 from one to the next, so it is prefilled once. Every sample's first token is drawn from a decode step that
evaluates the prompt's last token beside the wave's other sequences (the prefill stops one token short): so all tokens
come from the same kind of step, and a sample's text does not depend on the wave it fell in. Memory: `n_seq_max`
streams of `seq_ctx` KV cells each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import llama_cpp
from llama_cpp import _internals as internals


@dataclass
class Job:
    """One request's samples: prompt tokens, and how to draw and stop each of its `n` sequences."""
    prompt: list[int]
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...] = ()
    seed: int | None = None       # sample i draws with seed + i; None: a fresh seed per sample
    grammar: object = None        # a LlamaGrammar every sample must follow (JSON-schema constrained replies)
    tokens: list[list[int]] = field(default_factory=list)    # out: generated tokens of each sample

    def cells(self) -> int:
        return len(self.prompt) + self.max_tokens


class SequenceBatcher:
    """A second llama.cpp context over the same weights, with `n_seq_max` KV streams of `seq_ctx` cells."""

    def __init__(self, llm, seq_ctx: int, n_seq_max: int):
        self.llm, self.seq_ctx, self.n_seq_max = llm, seq_ctx, n_seq_max
        params = llama_cpp.llama_context_params.from_buffer_copy(llm.context_params)
        params.n_ctx, params.n_seq_max, params.kv_unified = seq_ctx * n_seq_max, n_seq_max, False
        self.n_batch = int(params.n_batch)
        self.ctx = internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self.batch = internals.LlamaBatch(n_tokens=max(self.n_batch, n_seq_max), embd=0, n_seq_max=1, verbose=False)
        self.vocab = llm._model.vocab

    def close(self):
        self.batch.close()
        self.ctx.close()

    # -- pieces ------------------------------------------------------------------------------------------------------
    def _sampler(self, job: Job, i: int) -> internals.LlamaSampler:
        s = internals.LlamaSampler()
        if job.grammar is not None:
            s.add_grammar(self.llm._model, job.grammar)
        if job.temperature <= 0:
            s.add_greedy()
            return s
        s.add_temp(job.temperature)
        if job.top_p < 1.0:
            s.add_top_p(job.top_p, 1)
        s.add_dist(llama_cpp.LLAMA_DEFAULT_SEED if job.seed is None else (job.seed + i) & 0xFFFFFFFF)
        return s

    def _put(self, i: int, token: int, pos: int, seq: int, logits: bool):
        b = self.batch.batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
        b.seq_id[i][0] = seq

    def _prefill(self, tokens: list[int], seq: int):
        """Evaluate tokens into sequence `seq` from position 0, in chunks of n_batch, computing no logits."""
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            for i, tok in enumerate(chunk):
                self._put(i, tok, start + i, seq, False)
            self.batch.batch.n_tokens = len(chunk)
            self.ctx.decode(self.batch)

    def _accept(self, job: Job, tokens: list[int], tok: int) -> tuple[bool, bool]:
        """Keep `tok` unless it ends generation; returns (kept, finished)."""
        if llama_cpp.llama_vocab_is_eog(self.vocab, tok):
            return False, True
        tokens.append(tok)
        if len(tokens) >= job.max_tokens:
            return True, True
        if job.stop:
            text = self.llm.detokenize(tokens).decode("utf-8", errors="ignore")
            return True, any(s in text for s in job.stop)
        return True, False

    # -- decoding ----------------------------------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job]) -> None:
        """Decode every job's samples (filling `job.tokens`), in waves of at most n_seq_max sequences."""
        waves = list(self._waves(jobs))
        for w, wave in enumerate(waves):
            for job, first, count in wave:
                job.tokens.extend([] for _ in range(count))
            # a job with more samples than streams continues as the first entry of the next wave, in stream 0
            keep = w + 1 < len(waves) and waves[w + 1][0][0] is wave[0][0]
            reuse = w > 0 and waves[w - 1][0][0] is wave[0][0]
            for _ in self._decode(wave, reuse=reuse, keep=keep):
                pass

    def stream(self, job: Job) -> Iterator[int]:
        """The tokens of a one-sample job as they are drawn."""
        job.tokens = [[]]
        for _, _, tok in self._decode([(job, 0, 1)]):
            yield tok

    def _waves(self, jobs: Sequence[Job]):
        wave, seqs = [], 0
        for job in jobs:
            if not job.prompt:
                raise ValueError("an empty prompt (no tokens) cannot be decoded")
            if job.cells() > self.seq_ctx:
                raise ValueError(f"a request of {len(job.prompt)} prompt tokens + {job.max_tokens} new tokens exceeds "
                                 f"the context of {self.seq_ctx}")
            for first in range(0, job.n, self.n_seq_max):
                count = min(self.n_seq_max, job.n - first)
                if seqs + count > self.n_seq_max:
                    yield wave
                    wave, seqs = [], 0
                wave.append((job, first, count))
                seqs += count
        if wave:
            yield wave

    def _decode(self, wave, reuse: bool = False, keep: bool = False) -> Iterator[tuple[Job, int, int]]:
        """Prefill each prompt of the wave but its last token once, copy it to the streams of the prompt's other
        samples, then decode all live sequences one token per step. Every sample's first step evaluates the prompt's
        last token, so every sampled token comes from a decode step of the same kind, whatever the wave held.
        `reuse`: stream 0 already holds the first job's prompt (from the previous wave); `keep`: leave it there.
        Yields (job, sample index, token) for every token kept."""
        if not reuse:
            llama_cpp.llama_memory_clear(self.ctx.memory, False)
        live = []     # per sequence: [job, sample index, sequence id, sampler, its tokens, next input, its position]
        seq = 0
        try:
            for j, (job, first, count) in enumerate(wave):
                if not (reuse and j == 0):
                    self._prefill(job.prompt[:-1], seq)
                for k in range(count):
                    if k:
                        self.ctx.kv_cache_seq_cp(seq, seq + k, -1, -1)
                    live.append([job, first + k, seq + k, self._sampler(job, first + k), job.tokens[first + k],
                                 job.prompt[-1], len(job.prompt) - 1])
                seq += count
            while live:
                for i, e in enumerate(live):
                    self._put(i, e[5], e[6], e[2], True)
                self.batch.batch.n_tokens = len(live)
                self.ctx.decode(self.batch)
                still = []
                for i, e in enumerate(live):
                    kept, finished = self._accept(e[0], e[4], e[3].sample(self.ctx, i))
                    if kept:
                        yield e[0], e[1], e[4][-1]
                    if not finished:
                        e[5], e[6] = e[4][-1], e[6] + 1
                        still.append(e)
                live = still
        finally:
            if keep:
                for s in range(1, self.n_seq_max):
                    self.ctx.kv_cache_seq_rm(s, -1, -1)
                self.ctx.kv_cache_seq_rm(0, len(wave[0][0].prompt) - 1, -1)
            else:
                llama_cpp.llama_memory_clear(self.ctx.memory, False)
