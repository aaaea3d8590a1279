"""Language models behind one protocol: local Hugging Face models, the embedded SmolLM2, a tiny
random model for tests, and any OpenAI-compatible server.

Nothing here imports torch or transformers until a local model is actually loaded.
"""

from __future__ import annotations

import os
from typing import Any

from societygym.llm.base import (
    LLM,
    BaseLLM,
    Generation,
    Message,
    Prompt,
    SamplingParams,
    Usage,
)
from societygym.llm.embedded import embedded_model_dir, load_embedded_llm
from societygym.llm.openai_backend import (
    DEFAULT_BASE_URL,
    OpenAICompatibleLLM,
    OpenAIError,
    ScoringNotSupportedError,
)
from societygym.llm.tiny import build_tiny_llm_dir, tiny_llm_dir
from societygym.llm.transformers_backend import TokenLogprobs, TransformersLLM

__all__ = [
    "LLM",
    "BaseLLM",
    "Generation",
    "Message",
    "OpenAICompatibleLLM",
    "OpenAIError",
    "Prompt",
    "SamplingParams",
    "ScoringNotSupportedError",
    "TokenLogprobs",
    "TransformersLLM",
    "Usage",
    "build_tiny_llm_dir",
    "embedded_model_dir",
    "load_embedded_llm",
    "load_llm",
    "tiny_llm_dir",
]

SPECS = (
    "'embedded', 'tiny' or 'tiny:<seed>', 'hf:<local dir or hub id>', "
    "'lora:<adapter dir>' (the embedded model with a trained LoRA adapter merged in), "
    "'openai:<model>' (server from $OPENAI_BASE_URL) or 'openai:<base_url>#<model>'"
)


_SHARED: dict[str, LLM] = {}


def load_llm(spec: str | LLM = "embedded", *, shared: bool = True, **kwargs: Any) -> LLM:
    """An LLM from a spec string (see ``SPECS``); an LLM object is returned as it is.

    ``kwargs`` go to the backend's constructor (``TransformersLLM`` or ``OpenAICompatibleLLM``).
    For OpenAI specs the API key defaults to ``$OPENAI_API_KEY``. Without kwargs, one instance
    per spec is shared in the process (``shared=False`` for a private one), so eight envs
    with an LLM listener hold one copy of the model, not eight.
    """
    if not isinstance(spec, str):
        if kwargs:
            raise TypeError("load_llm got keyword arguments along with an LLM object")
        return spec
    if shared and not kwargs:
        if spec not in _SHARED:
            _SHARED[spec] = load_llm(spec, shared=False)
        return _SHARED[spec]
    kind, _, arg = spec.partition(":")
    if spec == "embedded":
        return load_embedded_llm(**kwargs)
    if kind == "tiny" and (not arg or arg.isdigit()):
        seed = int(arg or 0)
        kwargs.setdefault("name", f"tiny:{seed}")
        return TransformersLLM(tiny_llm_dir(seed), **kwargs)
    if kind == "hf" and arg:
        return TransformersLLM(arg, **kwargs)
    if kind == "lora" and arg:
        from societygym.llm.lora import load_lora_llm  # peft only when asked for

        return load_lora_llm(arg, **kwargs)
    if kind == "openai" and arg:
        base_url, _, model = arg.rpartition("#")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        kwargs.setdefault("api_key", os.environ.get("OPENAI_API_KEY"))
        return OpenAICompatibleLLM(model, base_url, **kwargs)
    raise ValueError(f"unknown LLM spec {spec!r}; expected {SPECS}")
