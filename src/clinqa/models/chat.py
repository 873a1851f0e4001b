"""Rendering a prompt (+ assistant prefix) with a model's chat template, for backends that get raw text.

Used by the llama.cpp and vLLM backends; the transformers backend renders through its tokenizer directly.
"""

from __future__ import annotations

from clinqa.models.base import GenRequest


def render_with_template(template: str | None, req: GenRequest, bos: str = "", eos: str = "") -> str:
    """Jinja-render the template (as transformers does) with one user turn, add the generation prompt and prefix."""
    if not template:
        return req.prompt + req.prefix
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    text = env.from_string(template).render(messages=[{"role": "user", "content": req.prompt}],
                                            add_generation_prompt=True, bos_token=bos, eos_token=eos)
    return text + req.prefix
