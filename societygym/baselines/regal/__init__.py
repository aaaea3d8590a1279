"""ReGAL (Stengel-Eskin et al., ICML 2024): learn a code bank of helper functions by
refactoring training programs, then write programs with it.

- ``training``: the refactor / verify / edit / prune loop, saving ``codebank.json`` and
  ``codebank.py`` (``python -m societygym.baselines.regal train --help``);
- ``domains``: LOGO, Date and TextCraft as training and the agent see them;
- ``prompts``: the prompts and the parsing of replies; ``bm25``: retrieval and batching.

The agents that write programs with a bank (:class:`ReGALAgent`, :class:`PrimitiveAgent`)
are :mod:`societygym.agents.regal` (aliases ``regal``, ``regal-primitive``); the code bank
itself is :mod:`societygym.envs.programs.codebank`.
"""

from societygym.baselines.regal.training import TrainConfig, train

__all__ = ["TrainConfig", "train"]
