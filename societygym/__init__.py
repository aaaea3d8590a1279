"""societygym: Gymnasium and PettingZoo environments for language agents that communicate,
abstract and teach.

Importing the package registers every environment id with Gymnasium (and the multi-agent
ones with PettingZoo), so ``gymnasium.make("Trivia-Calibration-v0")`` works after
``import societygym``, and ``gymnasium.make("societygym:Trivia-Calibration-v0")`` works
without it.
"""

from societygym.registry import list_envs, register_all

__version__ = "0.1.0"
__all__ = ["__version__", "list_envs", "make"]

register_all()


def make(env_id: str, **kwargs):
    """Make any registered env: a ``gymnasium.Env`` or a ``pettingzoo.ParallelEnv``. An env's
    own step limit argument (``max_steps``, ``max_iterations``) also moves its TimeLimit."""
    from societygym.registry import entry, with_time_limit

    if entry(env_id).multi_agent:
        import pettingzoo

        return pettingzoo.make("parallel", env_id, **kwargs)
    import gymnasium

    return gymnasium.make(env_id, **with_time_limit(env_id, kwargs))
