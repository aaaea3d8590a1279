"""The code domains: a generated pool of function-writing problems, HumanEval, LiveCodeBench."""

from societygym.envs.dataenv.domains.code.domain import CodeDomain, LiveCodeBenchDomain

__all__ = ["CodeDomain", "LiveCodeBenchDomain"]
