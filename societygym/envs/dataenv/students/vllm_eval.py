"""Greedy evaluation of an ``HFStudent`` with vLLM (optional: the ``vllm`` package and CUDA).

The student trains in ``transformers``; vLLM only answers the validation questions. Its
weights reach vLLM through disk, once per weight version: a LoRA student's adapter is saved
(peft format, a few MB) to a fresh folder and served as a new ``LoRARequest`` (new id, so
vLLM's adapter cache never serves stale weights) over one engine that loads the base model
once; a fully fine-tuned student is saved whole and the engine restarted on it, which costs
an engine start per iteration (vLLM has no stable public API to swap all weights in place).

Prompts go in as token ids made exactly as ``TransformersLLM.encode`` makes them, and the
reply tokens are decoded with the same ``tokenizer.decode`` call, so both backends hand the
domain's grader strings built the same way. Greedy tokens can still differ where vLLM's bf16
kernels break a near-tie differently from fp32 weights under bf16 autocast.

vLLM is imported only here, and only when this backend is chosen. vLLM's engine process is
spawned once CUDA is initialised, so a script using it needs an ``if __name__ ==
"__main__":`` guard (or ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` to keep the engine in-process).
"""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EVAL_BACKENDS = ("transformers", "vllm", "auto")
# vLLM accepts only these adapter ranks (LoRAConfig.max_lora_rank).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# The training copy of the model shares the GPU, so vLLM must not claim its usual 90 %.
DEFAULT_VLLM_OPTIONS: dict[str, Any] = {"gpu_memory_utilization": 0.3, "dtype": "bfloat16"}
MISSING_VLLM = (
    "eval_backend='vllm' needs the vllm package (Linux + CUDA): pip install 'societygym[vllm]'"
)


def import_vllm() -> Any:
    """The ``vllm`` module, or an ImportError that says how to get it."""
    try:
        import vllm
    except ImportError as error:
        raise ImportError(MISSING_VLLM) from error
    return vllm


def choose_eval_backend(requested: str, device_type: str) -> str:
    """``"transformers"`` or ``"vllm"`` for a requested backend and the student's device.

    ``"auto"`` picks vLLM only on CUDA and when ``import vllm`` works; ``"vllm"`` insists
    (ImportError when it is missing).
    """
    if requested not in EVAL_BACKENDS:
        raise ValueError(f"eval_backend must be one of {EVAL_BACKENDS}, got {requested!r}")
    if requested == "transformers":
        return requested
    if requested == "vllm":
        import_vllm()
        return requested
    if device_type != "cuda":
        return "transformers"
    try:
        import_vllm()
    except Exception as error:  # a broken install (e.g. CUDA libs) falls back too
        logger.debug("eval_backend='auto': vllm unusable (%s), using transformers", error)
        return "transformers"
    return "vllm"


def vllm_lora_rank(rank: int) -> int:
    """The smallest rank vLLM supports that holds an adapter of ``rank``."""
    for allowed in VLLM_LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ValueError(f"vLLM serves LoRA ranks up to {VLLM_LORA_RANKS[-1]}, got {rank}")


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The ids that end a reply, as ``TransformersLLM`` counts them."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
    return sorted(ids - {None})


class VLLMEvaluator:
    """One vLLM engine serving one student's current weights.

    ``lora_rank``: the student's adapter rank (None for a full fine-tune). ``options`` go to
    ``vllm.LLM`` over ``DEFAULT_VLLM_OPTIONS``. Exported weights live in a temporary folder
    removed with this object (or at exit); only the newest version is kept.
    """

    def __init__(
        self,
        base_model: str,
        tokenizer: Any,
        eos_ids: Sequence[int],
        lora_rank: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        import_vllm()
        self.base_model = base_model
        self.tokenizer = tokenizer
        self.eos_ids = list(eos_ids)
        self.lora_rank = lora_rank
        self.options = {**DEFAULT_VLLM_OPTIONS, **(options or {})}
        self.export_dir = Path(tempfile.mkdtemp(prefix="societygym-vllm-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.export_dir), True)
        self.llm: Any = None
        self.lora_request: Any = None
        self.version: int | None = None  # the weight version vLLM serves

    def sync(self, model: Any, version: int) -> None:
        """Serve ``model``'s weights as of ``version`` (0: the untouched initial weights).

        Versions come from the student, which gives every change of its weights a new one.
        """
        if version == self.version:
            return
        folder = self.export_dir / f"v{version:06d}"
        if self.lora_rank is not None:
            from vllm.lora.request import LoRARequest

            model.save_pretrained(str(folder))  # peft: the adapter alone
            if self.llm is None:
                self.llm = self._engine(self.base_model)
            # vLLM caches adapters by id: a new id per version (ids must be > 0)
            self.lora_request = LoRARequest(f"student-v{version}", version + 1, str(folder))
        else:
            path = self.base_model
            if version != 0:  # initial full weights are the base checkpoint itself
                model.save_pretrained(str(folder))
                self.tokenizer.save_pretrained(str(folder))
                path = str(folder)
            self.close_engine()
            self.llm = self._engine(path)
        for old in self.export_dir.iterdir():  # loaded already; keep only the newest
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        self.version = version

    def generate(self, prompt_ids: Sequence[Sequence[int]], max_new_tokens: int) -> list[str]:
        """Greedy replies to prompts given as token ids, in order."""
        from vllm import SamplingParams

        if self.llm is None:
            raise RuntimeError("VLLMEvaluator.sync() must run before generate()")
        params = SamplingParams(
            temperature=0.0, max_tokens=max_new_tokens, stop_token_ids=self.eos_ids
        )
        outputs = self.llm.generate(
            [{"prompt_token_ids": list(ids)} for ids in prompt_ids],
            params,
            lora_request=self.lora_request,
            use_tqdm=False,
        )
        return [
            self.tokenizer.decode(list(out.outputs[0].token_ids), skip_special_tokens=True)
            for out in outputs
        ]

    def _engine(self, model_path: str) -> Any:
        import vllm

        options = dict(self.options)
        if self.lora_rank is not None:
            options.setdefault("enable_lora", True)
            options.setdefault("max_lora_rank", vllm_lora_rank(self.lora_rank))
            options.setdefault("max_loras", 1)
        return vllm.LLM(model=model_path, **options)

    def close_engine(self) -> None:
        """Stop the engine and free its GPU memory (best effort: vLLM offers no one call)."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if callable(getattr(core, "shutdown", None)):
            core.shutdown()
        del llm
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def close(self) -> None:
        self.close_engine()
        self._cleanup()
