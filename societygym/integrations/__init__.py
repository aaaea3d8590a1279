"""Adapters from societygym envs to training libraries.

- ``societygym.integrations.trl``: prompt datasets and env-backed reward functions for TRL's
  ``GRPOTrainer`` (single-step envs), an ``environment_factory`` for multi-step envs, and
  preference files for ``DPOTrainer``.
- ``societygym.integrations.tool_template``: tool-capable chat templates for ChatML models
  without one (the embedded SmolLM2), so TRL's multi-turn path can play envs with them.
- ``societygym.integrations.trl_grpo``: the worked GRPO + LoRA example (a command).
- ``societygym.integrations.verifiers``: a ``verifiers`` taskset, env and in-process harness
  that play any societygym env (needs the ``train`` extra).

Nothing here imports TRL or verifiers until it is used.
"""
