"""A student behind a teaching env: any Hugging Face causal LM, fine-tuned with LoRA or fully.

The student keeps a copy of its initial trainable weights, so returning to the base model
(``reset``) costs a tensor copy rather than a reload. Checkpoints hold only the trainable
weights (the LoRA adapter, or every weight for a full fine-tune) as safetensors.

Evaluation decodes greedily with our ``TransformersLLM`` on the training copy of the model,
or, with ``eval_backend="vllm"``, with vLLM on the current weights (see ``vllm_eval``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from societygym.envs.dataenv.trainer import TrainConfig, TrainStats, train
from societygym.llm.base import Prompt

FINETUNE_MODES = ("lora", "full")
WEIGHTS_FILE = "student.safetensors"


def resolve_model_dir(spec: str | os.PathLike) -> str:
    """``"embedded"`` (SmolLM2-135M-Instruct), ``"tiny"``/``"tiny:<seed>"`` (random tiny
    Llama for tests), ``"hf:<dir or hub id>"``, or a local folder."""
    from societygym.llm import embedded_model_dir, tiny_llm_dir

    spec = os.fspath(spec)
    kind, _, arg = spec.partition(":")
    if spec == "embedded":
        return str(embedded_model_dir())
    if kind == "tiny" and (not arg or arg.isdigit()):
        return str(tiny_llm_dir(int(arg or 0)))
    if kind == "hf" and arg:
        return arg
    if Path(spec).is_dir():
        return spec
    raise ValueError(
        f"unknown student {spec!r}: use 'embedded', 'tiny[:seed]', 'hf:<dir or id>' or a folder"
    )


class HFStudent:
    """Train on (instruction, response) pairs; answer questions by batched greedy decoding.

    ``finetune``: ``"lora"`` (peft, rank ``lora_r`` on all linear layers) or ``"full"``.
    ``device``: CUDA when available, else CPU. Weights stay fp32; CUDA training and
    evaluation run under bf16 autocast. ``eval_backend``: ``"transformers"``, ``"vllm"``
    (needs the ``vllm`` extra and CUDA; ``vllm_options`` go to ``vllm.LLM``) or ``"auto"``
    (vLLM on CUDA when it imports); default ``$SOCIETYGYM_EVAL_BACKEND`` or
    ``"transformers"``, so an env building its student from a spec string can opt in too.
    """

    def __init__(
        self,
        model: str | os.PathLike = "embedded",
        finetune: str = "lora",
        train_config: TrainConfig | None = None,
        lora_r: int = 16,
        lora_alpha: int = 32,
        device: str | None = None,
        eval_batch_size: int | None = None,
        init_seed: int = 0,
        eval_backend: str | None = None,
        vllm_options: dict[str, Any] | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from societygym.envs.dataenv.students.vllm_eval import choose_eval_backend
        from societygym.llm.torch_runtime import fork_safe_torch

        torch = fork_safe_torch()
        if finetune not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}, got {finetune!r}")
        self.model_dir = resolve_model_dir(model)
        self.finetune = finetune
        self.lora_r = lora_r
        self.config = train_config or TrainConfig()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # chosen before loading the model, so a missing vllm fails fast
        requested = eval_backend or os.environ.get("SOCIETYGYM_EVAL_BACKEND", "transformers")
        self.eval_backend = choose_eval_backend(requested, self.device.type)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        net = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32)
        if finetune == "lora":
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules="all-linear"
            )
            with torch.random.fork_rng(devices=[]):  # seeded adapter init, global RNG untouched
                torch.manual_seed(init_seed)
                net = get_peft_model(net, lora)
        self.model = net.to(self.device).eval()
        self.eval_batch_size = eval_batch_size or (128 if self.device.type == "cuda" else 32)
        self._initial = self.trainable_state()
        self._llm: Any = None
        self.vllm_options = vllm_options
        self._vllm: Any = None
        # Every change of the weights gets a new version (0: the initial ones), so vLLM
        # re-exports them only when they changed.
        self._versions = itertools.count(1)
        self.weights_version = 0

    # --- weights -----------------------------------------------------------------------------

    def trainable_state(self) -> dict[str, Any]:
        """A CPU copy of the weights training changes."""
        return {
            name: p.detach().to("cpu", copy=True)
            for name, p in self.model.named_parameters()
            if p.requires_grad
        }

    def load_trainable_state(self, state: dict[str, Any]) -> None:
        import torch

        params = dict(self.model.named_parameters())
        missing = {n for n, p in params.items() if p.requires_grad} - set(state)
        if missing:
            raise ValueError(
                f"checkpoint lacks {len(missing)} trainable tensors, e.g. {min(missing)}"
            )
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)
        self.weights_version = next(self._versions)

    def reset(self) -> None:
        """Back to the initial (base) weights."""
        self.load_trainable_state(self._initial)
        self.weights_version = 0

    def save(self, folder: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        save_file(
            {k: v.contiguous() for k, v in self.trainable_state().items()},
            str(Path(folder) / WEIGHTS_FILE),
        )

    def load(self, folder: str | os.PathLike) -> None:
        from safetensors.torch import load_file

        self.load_trainable_state(load_file(str(Path(folder) / WEIGHTS_FILE)))

    # --- prompts, training, answering --------------------------------------------------------

    def chat_prompt(self, instruction: str) -> Prompt:
        """What the student is shown: a chat turn when it has a chat template."""
        if getattr(self.tokenizer, "chat_template", None):
            return [{"role": "user", "content": instruction}]
        return f"{instruction}\nAnswer: "

    def prompt_text(self, instruction: str) -> str:
        prompt = self.chat_prompt(instruction)
        if isinstance(prompt, str):
            return prompt
        return self.tokenizer.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True
        )

    def prompt_ids(self, instruction: str) -> list[int]:
        """The prompt's token ids, made as ``TransformersLLM.encode`` makes them: a rendered
        chat template holds its special tokens already, plain text gets the usual ones."""
        plain = isinstance(self.chat_prompt(instruction), str)
        return self.tokenizer(self.prompt_text(instruction), add_special_tokens=plain).input_ids

    def train(self, pairs: Sequence[tuple[str, str]], seed: int, **overrides: Any) -> TrainStats:
        """Fine-tune on (instruction, response) pairs; ``overrides`` change ``TrainConfig``."""
        config = replace(self.config, **overrides) if overrides else self.config
        prompts = [(self.prompt_text(i), r) for i, r in pairs]
        stats = train(self.model, self.tokenizer, prompts, config, seed)
        self.weights_version = next(self._versions)
        return stats

    def answer(self, instructions: Sequence[str], max_new_tokens: int) -> list[str]:
        """Greedy replies, decoded in batches (or scheduled by vLLM)."""
        if self.eval_backend == "vllm":
            return self._answer_vllm(instructions, max_new_tokens)
        import torch

        from societygym.llm.transformers_backend import TransformersLLM

        if self._llm is None:
            self._llm = TransformersLLM(
                self.model, tokenizer=self.tokenizer, batch_size=self.eval_batch_size
            )
        self.model.eval()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        with autocast:
            out = self._llm.generate(
                [self.chat_prompt(i) for i in instructions], max_tokens=max_new_tokens
            )
        return [gens[0].text for gens in out]

    def _answer_vllm(self, instructions: Sequence[str], max_new_tokens: int) -> list[str]:
        from societygym.envs.dataenv.students.vllm_eval import VLLMEvaluator, eos_token_ids

        if self._vllm is None:
            self._vllm = VLLMEvaluator(
                self.model_dir,
                self.tokenizer,
                eos_token_ids(self.model, self.tokenizer),
                lora_rank=self.lora_r if self.finetune == "lora" else None,
                options=self.vllm_options,
            )
        self._vllm.sync(self.model, self.weights_version)
        return self._vllm.generate([self.prompt_ids(i) for i in instructions], max_new_tokens)
