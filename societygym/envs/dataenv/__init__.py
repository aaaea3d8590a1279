"""Teacher/student teaching envs (DataEnvGym): a teacher writes training data, the env trains
a real student on it and reports how it improved.

Three kinds share one engine (``env.TeachingEnv``) and plug in any ``Domain``:
``OpenEndedEnv`` (errors only), ``SkillListEnv`` (per-skill accuracy, errors by skill) and
``SkillTreeEnv`` (explore/exploit over a skill forest; the env's data engine writes the data).
Importing this package does not import torch; the student loads when an env is made.
"""

from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.domains import DOMAINS, make_domain
from societygym.envs.dataenv.engines import LLMEngine, ProceduralEngine, make_engine
from societygym.envs.dataenv.open_ended_env import OpenEndedEnv
from societygym.envs.dataenv.records import Example, Graded, TaskItem
from societygym.envs.dataenv.skill_list_env import SkillListEnv
from societygym.envs.dataenv.skill_tree_env import SkillTreeEnv
from societygym.envs.dataenv.trainer import TrainConfig, TrainStats

__all__ = [
    "DOMAINS",
    "Domain",
    "Example",
    "Graded",
    "LLMEngine",
    "OpenEndedEnv",
    "ProceduralEngine",
    "SkillListEnv",
    "SkillTreeEnv",
    "TaskItem",
    "TrainConfig",
    "TrainStats",
    "make_domain",
    "make_engine",
]
