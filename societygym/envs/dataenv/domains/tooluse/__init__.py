"""Tool-use domains: generated M&Ms-style plans over deterministic tools, and M&Ms itself."""

from societygym.envs.dataenv.domains.tooluse.domain import ToolUseDomain
from societygym.envs.dataenv.domains.tooluse.mnms import MnmsDomain

__all__ = ["MnmsDomain", "ToolUseDomain"]
