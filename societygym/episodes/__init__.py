"""Playing episodes: what addresses one (``keys``) and the one loop that plays them
(``engine``), for single-agent Gymnasium and PettingZoo parallel envs alike."""

from societygym.episodes.engine import (
    SEAT,
    Episode,
    SingleSeat,
    bind,
    make_env,
    must_act,
    play,
    seat_agents,
    slot_count,
)
from societygym.episodes.keys import EpisodeKey, action_seed, env_seed
from societygym.episodes.progress import Progress
from societygym.episodes.tracefile import write_trace

__all__ = [
    "SEAT",
    "Episode",
    "EpisodeKey",
    "Progress",
    "SingleSeat",
    "action_seed",
    "bind",
    "env_seed",
    "make_env",
    "must_act",
    "play",
    "seat_agents",
    "slot_count",
    "write_trace",
]
