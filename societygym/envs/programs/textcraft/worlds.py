"""The two TextCraft worlds, by name: this suite's (``"minecraft"``) and ADaPT's (``"adapt"``).

``"minecraft"`` names concrete items and accepts k batches in one craft (``world.World``);
``"adapt"`` is ADaPT's game, whose data ReGAL's TextCraft files come from (``adapt``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from societygym.envs.programs.textcraft.recipes import RecipeBook, load_book
from societygym.envs.programs.textcraft.world import World

if TYPE_CHECKING:
    from societygym.envs.programs.textcraft.adapt import AdaptBook, AdaptWorld

WORLDS = ("minecraft", "adapt")


def check_world(world: str) -> str:
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r}; choose one of {WORLDS}")
    return world


def load_rules(version: str, world: str = "minecraft") -> RecipeBook | AdaptBook:
    """The recipe book of a world (cached per version)."""
    if check_world(world) == "adapt":
        from societygym.envs.programs.textcraft.adapt import load_adapt_book

        return load_adapt_book(version)
    return load_book(version)


def new_world(book: RecipeBook | AdaptBook) -> World | AdaptWorld:
    """An empty inventory under the book's rules."""
    if isinstance(book, RecipeBook):
        return World(book)
    from societygym.envs.programs.textcraft.adapt import AdaptWorld

    return AdaptWorld(book)
