"""The ``verifiers`` plugin id for societygym: ``--env.taskset.id societygym-verifiers``.

verifiers imports a taskset id as a top-level module, so this shim only re-exports the
adapter in ``societygym.integrations.verifiers`` (needs the ``train`` extra).
"""

from societygym.integrations.verifiers import *  # noqa: F403
from societygym.integrations.verifiers import __all__  # noqa: F401
