"""TextCraft's recipe graph: Minecraft crafting recipes from the ``minecraft-data`` package.

Source: PrismarineJS minecraft-data (MIT), Java edition ``1.16.5`` by default — the version
ADaPT's TextCraft downloaded its recipe files for. minecraft-data holds crafting-table recipes
only (no smelting, stonecutting or smithing), which is what ADaPT kept. Items are named
readably: ``oak_planks`` → ``oak planks``. A shaped recipe needs each item as many times as it
appears in the grid; containers a recipe hands back (the cake's buckets) are ignored.

Alternatives. Minecraft recipes accept tags ("any planks"); minecraft-data expands every tag
into one recipe per member, so an item may have several recipes. All of them are valid in the
world. The recipe shown to the agent (``canonical``) is the one of least depth, ties going to
the ingredients that come first in Minecraft's item registry — the tag's first member
(oak before spruce), which is ADaPT's "first alternative", without depending on file order.

Cycles. Crafting graphs have loops (iron ingot ↔ iron block ↔ nugget, wheat ↔ hay block,
quartz slab → chiseled quartz → quartz slab). They are broken in two order-independent steps:
1. while some craftable items cannot be reached from raw items at all, the one used by the
   most other items' recipes (ties: name) becomes raw — the material, e.g. iron ingot, not
   its block or nugget;
2. a recipe is dropped when an ingredient is at least as deep as the result and depends on
   it: it only leads back up a loop (bone meal from bone block).
Depth (ADaPT's ``get_min_depth``): raw items 0; an item is 1 + the deepest ingredient of its
shallowest recipe. Goals are the items of depth >= 2, ordered by (-depth, name).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

DEFAULT_VERSION = "1.16.5"
MIN_GOAL_DEPTH = 2


@dataclass(frozen=True, order=True)
class Recipe:
    """``count`` of ``output`` from ``inputs``: (item, count) pairs sorted by item name."""

    output: str
    count: int
    inputs: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if self.count < 1 or not self.inputs or any(n < 1 for _, n in self.inputs):
            raise ValueError(f"a recipe needs a positive output and ingredients: {self}")

    @classmethod
    def of(cls, output: str, count: int, inputs: Iterable[str]) -> Recipe:
        """From a flat list of ingredient slots (one entry per unit)."""
        return cls(output, count, tuple(sorted(Counter(inputs).items())))

    def command(self, times: int = 1) -> str:
        """The command for ``times`` batches: ``craft 4 oak planks using 1 oak log``."""
        used = ", ".join(f"{times * n} {item}" for item, n in self.inputs)
        return f"craft {times * self.count} {self.output} using {used}"

    def ingredients(self) -> tuple[str, ...]:
        return tuple(item for item, _ in self.inputs)


class RecipeBook:
    """Recipes by output, raw items, depths, canonical recipes and the goal list.

    ``rank`` orders items for tie-breaks between alternatives (default: by name).
    """

    def __init__(self, recipes: Iterable[Recipe], rank: Mapping[str, int] | None = None) -> None:
        by_output: dict[str, set[Recipe]] = {}
        for recipe in recipes:
            by_output.setdefault(recipe.output, set()).add(recipe)
        self._rank = dict(rank or {})
        ordered = {item: sorted(options) for item, options in sorted(by_output.items())}
        self.recipes, self.raw_by_choice = break_cycles(ordered)

    # --- queries --------------------------------------------------------------------------

    @cached_property
    def depth(self) -> dict[str, int]:
        return min_depths(self.recipes)

    @cached_property
    def raw(self) -> frozenset[str]:
        """Items that can only be gathered (``get``), never crafted."""
        return frozenset(item for item in self.depth if item not in self.recipes)

    @cached_property
    def canonical(self) -> dict[str, Recipe]:
        return {item: min(rs, key=self._preference) for item, rs in self.recipes.items()}

    def _preference(self, recipe: Recipe) -> tuple:
        shallowest = 1 + max(self.depth[item] for item in recipe.ingredients())
        return (shallowest, sorted((self._rank.get(i, math.inf), i, n) for i, n in recipe.inputs))

    @cached_property
    def users(self) -> dict[str, tuple[Recipe, ...]]:
        """The canonical recipes that consume each item."""
        found: dict[str, list[Recipe]] = {}
        for recipe in self.canonical.values():
            for item in recipe.ingredients():
                found.setdefault(item, []).append(recipe)
        return {item: tuple(recipes) for item, recipes in found.items()}

    @cached_property
    def goals(self) -> tuple[str, ...]:
        """Items of depth >= 2, deepest first, then by name."""
        deep = (item for item, d in self.depth.items() if d >= MIN_GOAL_DEPTH)
        return tuple(sorted(deep, key=lambda item: (-self.depth[item], item)))

    def is_craftable(self, item: str) -> bool:
        return item in self.recipes

    def tree(self, goal: str) -> list[Recipe]:
        """The canonical recipes needed to craft ``goal`` from raw items, deepest first."""
        needed: set[str] = set()
        stack = [goal]
        while stack:
            item = stack.pop()
            if item in self.canonical and item not in needed:
                needed.add(item)
                stack.extend(self.canonical[item].ingredients())
        order = sorted(needed, key=lambda item: (-self.depth[item], item))
        return [self.canonical[item] for item in order]

    def match(self, output: str, amount: int, inputs: Mapping[str, int]) -> Recipe | None:
        """The recipe that makes exactly ``amount`` of ``output`` from exactly ``inputs``:
        ``amount`` is k times its output count and ``inputs`` k times its ingredients."""
        for recipe in self.recipes.get(output, ()):
            times, rest = divmod(amount, recipe.count)
            if times >= 1 and not rest and dict(inputs) == {i: n * times for i, n in recipe.inputs}:
                return recipe
        return None


def break_cycles(
    recipes: dict[str, list[Recipe]],
) -> tuple[dict[str, tuple[Recipe, ...]], tuple[str, ...]]:
    """The recipes without loops (module docstring), and the items made raw to break them."""
    recipes = dict(recipes)
    consumers = Counter(item for options in recipes.values() for item in _all_inputs(options))
    made_raw = []
    while True:
        depth = min_depths(recipes)
        stuck = sorted(item for item in recipes if item not in depth)
        if not stuck:
            break
        on_loop = [item for item in stuck if item in _dependencies(recipes, item)]
        material = min(on_loop, key=lambda item: (-consumers[item], item))
        made_raw.append(material)
        del recipes[material]

    def leads_back(recipe: Recipe) -> bool:
        return any(
            depth[item] >= depth[recipe.output]
            and recipe.output in _dependencies(recipes, item) | {item}
            for item in recipe.ingredients()
        )

    kept = {
        item: tuple(r for r in options if not leads_back(r)) for item, options in recipes.items()
    }
    return kept, tuple(made_raw)


def _all_inputs(recipes: Iterable[Recipe]) -> set[str]:
    return {item for recipe in recipes for item in recipe.ingredients()}


def _dependencies(recipes: Mapping[str, Iterable[Recipe]], item: str) -> set[str]:
    """Every item that some recipe chain for ``item`` may consume."""
    seen: set[str] = set()
    stack = [item]
    while stack:
        for ingredient in _all_inputs(recipes.get(stack.pop(), ())):
            if ingredient not in seen:
                seen.add(ingredient)
                stack.append(ingredient)
    return seen


def min_depths(recipes: Mapping[str, Iterable[Recipe]]) -> dict[str, int]:
    """Depth of every item reachable from raw items (items with no recipe); a fixed point."""
    recipes = {item: tuple(rs) for item, rs in recipes.items()}
    depth = {i: 0 for rs in recipes.values() for i in _all_inputs(rs) if i not in recipes}
    changed = True
    while changed:
        changed = False
        for item, options in recipes.items():
            for recipe in options:
                if all(i in depth for i in recipe.ingredients()):
                    candidate = 1 + max(depth[i] for i in recipe.ingredients())
                    if candidate < depth.get(item, math.inf):
                        depth[item] = candidate
                        changed = True
    return depth


def readable(name: str) -> str:
    """``minecraft:oak_planks`` / ``oak_planks`` / ``Oak  Planks`` → ``oak planks``."""
    name = name.strip().lower().removeprefix("minecraft:")
    return " ".join(name.replace("_", " ").split())


def minecraft_recipes(version: str = DEFAULT_VERSION) -> tuple[list[Recipe], dict[str, int]]:
    """Crafting recipes of a Java-edition version, and each item's registry rank."""
    try:
        import minecraft_data
    except ImportError:
        raise ImportError(
            "TextCraft reads its recipes from minecraft-data: pip install minecraft-data"
        ) from None

    data = minecraft_data(version)
    name = {item_id: readable(item["name"]) for item_id, item in data.items.items()}
    recipes = []
    for entries in data.recipes.values():
        for entry in entries:
            slots = entry.get("ingredients") or [c for row in entry["inShape"] for c in row]
            used = [name[_item_id(cell)] for cell in slots if cell is not None]
            result = entry["result"]
            recipes.append(Recipe.of(name[_item_id(result)], result["count"], used))
    return recipes, {item: item_id for item_id, item in name.items()}


def _item_id(cell: int | Mapping) -> int:
    # versions before 1.13 write {"id": ..., "metadata": ...} where later ones write the id
    return cell["id"] if isinstance(cell, Mapping) else cell


@lru_cache(maxsize=2)
def load_book(version: str = DEFAULT_VERSION) -> RecipeBook:
    recipes, rank = minecraft_recipes(version)
    return RecipeBook(recipes, rank)
