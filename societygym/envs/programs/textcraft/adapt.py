"""ADaPT's TextCraft world (``world="adapt"``): its vocabulary and crafting rules, rebuilt from
Minecraft facts, so that ADaPT's and ReGAL's TextCraft data run unchanged.

The recipes are ``minecraft-data``'s (MIT) crafting recipes of Java 1.16.5, the version ADaPT
read, turned back into what ADaPT saw in the game's recipe files with the facts of
:mod:`~societygym.envs.programs.textcraft.adapt_facts`:

- a slot that accepts any item of a tag asks for the tag: ``craft 4 stick using 2 planks``;
  a slot listing alternative items asks for the first (``torch`` takes coal);
- a tag that no craftable item belongs to (by its recipe's group) is an item of its own, one
  you ``get``: ``oak logs``, ``logs``, ``wooden slabs``, ``stone tool materials`` …; only
  ``planks`` and ``wool`` stay tags, satisfied by any member (``oak planks``; the dyed wools);
- a recipe with a single ingredient named ``… block`` is dropped (no ingot from its block,
  no quartz slab from quartz block), and loops are broken as ADaPT's file order broke them;
- ``get N item`` works for items of the recipe files that no recipe makes and that are not
  tags; ``craft N X using …`` takes exactly one batch of ingredients of one of X's recipes
  (tags matched by membership), ignores N and yields the recipe's own count;
- the messages are ADaPT's, down to ``Crafted 1 minecraft:yellow_dye`` and the inventory's
  trailing space.
Goals are the items of depth >= 2 (ADaPT's ``item_recipes_min_depth(2)``), ordered by
(-depth, name) instead of ADaPT's file order. The crafting commands shown for a goal are all
the recipes of its items, ingredients in name order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cached_property, lru_cache

from societygym.envs.programs.textcraft import adapt_facts as facts
from societygym.envs.programs.textcraft.recipes import (
    DEFAULT_VERSION,
    MIN_GOAL_DEPTH,
    Recipe,
    min_depths,
    minecraft_recipes,
    readable,
)
from societygym.envs.programs.textcraft.world import (
    MAX_COMMAND_LENGTH,
    BadFormat,
    Outcome,
    clip,
)

_CRAFT = re.compile(r"craft (.+?) using (.+)", re.IGNORECASE)
_GET = re.compile(r"get (\d{1,9}) (.+)", re.IGNORECASE)
_AMOUNT = re.compile(r"(\d{1,9}) (.+)")


def _replace(recipe: Recipe, old: str, new: str) -> Recipe:
    inputs = Counter(dict(recipe.inputs))
    count = inputs.pop(old)  # first: new may be old
    inputs[new] += count
    return Recipe(recipe.output, recipe.count, tuple(sorted(inputs.items())))


def _collapse(variants: set[Recipe], tag: str, members: frozenset[str]) -> set[Recipe]:
    """Merge every complete family of variants that differ only by which member of ``tag``
    fills one slot (minecraft-data lists one recipe per member) into one recipe of the tag."""
    result = set(variants)
    for variant in sorted(variants):
        if variant not in result:
            continue
        present = [item for item in variant.ingredients() if item in members]
        if len(present) != 1:
            continue
        family = {_replace(variant, present[0], member) for member in members}
        if family <= result:
            result -= family
            result.add(_replace(variant, present[0], tag))
    return result


def adapt_recipes(variants: Iterable[Recipe]) -> list[Recipe]:
    """minecraft-data's expanded recipes, merged back into ADaPT's tag/first-item recipes."""
    by_output: dict[str, set[Recipe]] = {}
    for recipe in variants:
        by_output.setdefault(recipe.output, set()).add(recipe)
    merged = []
    largest_first = sorted(facts.ITEM_TAGS.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for output, options in sorted(by_output.items()):
        if output in facts.FIRST_ALTERNATIVE:
            others = facts.FIRST_ALTERNATIVE[output][1]
            options = {r for r in options if not others & set(r.ingredients())}
        for tag, members in largest_first:
            options = _collapse(options, tag, members)
        renamed = facts.TAG_BY_OUTPUT.get(output, {})
        for recipe in sorted(options):
            for old, new in renamed.items():
                if old in recipe.ingredients():
                    recipe = _replace(recipe, old, new)
            merged.append(recipe)
    return merged


def _block_recipe(recipe: Recipe) -> bool:
    """ADaPT skipped recipes made of one ingredient named ``…_block`` (ingot from block)."""
    return len(recipe.inputs) == 1 and recipe.inputs[0][0].endswith(" block")


class AdaptBook:
    """ADaPT's recipes, tags, gettable items, depths and goals."""

    def __init__(self, variants: Iterable[Recipe]) -> None:
        recipes = adapt_recipes(variants)
        # every name a loaded recipe mentions is an item ADaPT knows, even if the recipe is
        # then skipped (block recipes, loops)
        named = {r.output for r in recipes} | {i for r in recipes for i in r.ingredients()}
        kept = [r for r in recipes if not _block_recipe(r) and r.output not in facts.LOOP_RAW]
        self.recipes: dict[str, tuple[Recipe, ...]] = {}
        for recipe in kept:
            self.recipes[recipe.output] = (*self.recipes.get(recipe.output, ()), recipe)
        asked = {item for r in kept for item in r.ingredients()}
        self.tags: dict[str, frozenset[str]] = {
            tag: frozenset(m for m in members if m in self.recipes)
            for tag, members in facts.GROUP_MEMBERS.items()
            if tag in asked and any(m in self.recipes for m in members)
        }
        self.tag_of = {m: tag for tag, members in facts.GROUP_MEMBERS.items() for m in members}
        self.items = frozenset(named - set(self.tags))
        missing = sorted(self.recipes.keys() - self.depth.keys())
        if missing:  # a loop the facts do not break: fail loudly rather than hang goals
            raise ValueError(f"ADaPT world: unreachable items (a recipe loop?): {missing}")

    def recipes_of(self, name: str) -> tuple[Recipe, ...]:
        """The recipes of an item, or of every member of a tag (ADaPT's tag recipes)."""
        if name in self.tags:
            return tuple(r for m in sorted(self.tags[name]) for r in self.recipes[m])
        return self.recipes.get(name, ())

    @cached_property
    def depth(self) -> dict[str, int]:
        with_tags = {**self.recipes, **{tag: self.recipes_of(tag) for tag in self.tags}}
        return min_depths(with_tags)

    @cached_property
    def raw(self) -> frozenset[str]:
        """Items a ``get`` command obtains."""
        return frozenset(item for item in self.items if item not in self.recipes)

    @cached_property
    def goals(self) -> tuple[str, ...]:
        deep = (i for i in self.recipes if self.depth[i] >= MIN_GOAL_DEPTH)
        return tuple(sorted(deep, key=lambda item: (-self.depth[item], item)))

    @cached_property
    def users(self) -> dict[str, tuple[Recipe, ...]]:
        """Every recipe that asks for each item or tag (ADaPT's ``collect_item_uses``)."""
        found: dict[str, list[Recipe]] = {}
        for options in self.recipes.values():
            for recipe in options:
                for item in recipe.ingredients():
                    found.setdefault(item, []).append(recipe)
        return {item: tuple(recipes) for item, recipes in found.items()}

    def is_craftable(self, name: str) -> bool:
        return name in self.recipes or name in self.tags

    def tree(self, goal: str) -> list[Recipe]:
        """Every recipe of the goal and, recursively, of its ingredients (tags: of their
        members), deepest first: what ADaPT's ``traverse_recipe_tree`` shows."""
        seen: set[str] = set()
        found: set[Recipe] = set()
        stack = [goal]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            for recipe in self.recipes_of(name):
                found.add(recipe)
                stack.extend(recipe.ingredients())
        return sorted(found, key=lambda r: (-self.depth[r.output], r))

    def matches(self, name: str, wanted: str) -> bool:
        """Does an ingredient given as ``name`` fill a recipe slot asking for ``wanted``?"""
        return name == wanted or (wanted in self.tags and self.tag_of.get(name) == wanted)


@lru_cache(maxsize=2)
def load_adapt_book(version: str = DEFAULT_VERSION) -> AdaptBook:
    return AdaptBook(minecraft_recipes(version)[0])


def _game_id(name: str) -> str:
    return "minecraft:" + name.replace(" ", "_")


def _requested(name: str, book: AdaptBook) -> str:
    """How ADaPT printed a requested output it found no recipe for (its dataclass repr)."""
    game = _game_id(name)
    tag, item = (f"'{game}'", "None") if name in book.tags else ("None", f"'{game}'")
    return f"ItemTag(tag={tag}, item_id={item})"


class AdaptWorld:
    """One inventory under ADaPT's rules; ``execute`` runs one command."""

    def __init__(self, book: AdaptBook) -> None:
        self.book = book
        self.inventory: Counter[str] = Counter()

    def execute(self, command: str) -> Outcome:
        if len(command) > MAX_COMMAND_LENGTH:
            why = f"a command has at most {MAX_COMMAND_LENGTH} characters"
            return Outcome(f"Could not execute {clip(command)}", False, why)
        text = " ".join(command.split())
        try:
            if match := _CRAFT.fullmatch(text):
                return self._craft(match.group(1), match.group(2))
            if match := _GET.fullmatch(text):
                return self._get(int(match.group(1)), match.group(2))
        except BadFormat as bad:
            term = clip(str(bad))
            return Outcome(f"Wrong item format: {term}", False, f"expected 'N item', got {term!r}")
        if text.lower().startswith("inventory"):
            return Outcome(self.inventory_text(), True)
        why = "commands are 'get N item', 'craft N item using N a, N b' and 'inventory'"
        return Outcome(f"Could not execute {clip(text)}", False, why)

    def inventory_text(self) -> str:
        if not self.inventory:
            return "Inventory: You are not carrying anything."
        return "Inventory: " + "".join(f"[{i}] ({n}) " for i, n in self.inventory.items())

    def _get(self, amount: int, typed: str) -> Outcome:
        item = readable(typed)
        if item not in self.book.raw:
            if self.book.is_craftable(item):
                why = f"{clip(item)!r} is crafted, not gathered"
            elif item in self.book.tags:
                why = f"{clip(item)!r} is a tag: get one of its items"
            else:
                why = f"{clip(item)!r} is no item of the game"
            return Outcome(f"Could not find {clip(typed)}", False, why)
        self.inventory[item] += amount
        return Outcome(f"Got {amount} {clip(typed)}", True)

    def _craft(self, target: str, ingredients: str) -> Outcome:
        match = _AMOUNT.fullmatch(target.strip())
        output = readable(match.group(2) if match else target)  # ADaPT ignores the amount
        entries = []
        for term in ingredients.split(","):
            amount = _AMOUNT.fullmatch(term.strip())
            if not amount:
                raise BadFormat(term.strip())
            entries.append((readable(amount.group(2)), int(amount.group(1))))
        # ADaPT checks the inventory before the recipe
        lacking = [(i, n) for i, n in entries if self.inventory[i] < n]
        if lacking:
            made = "None" if output in self.book.tags else _game_id(output)
            why = "lacking " + ", ".join(f"{n - self.inventory[i]} {i}" for i, n in lacking)
            return Outcome(f"Could not find enough items to craft {made}", False, why)
        recipe = self._recipe_for(output, entries)
        if recipe is None:
            count = match.group(1) if match else "1"
            message = "Could not find a valid recipe for ItemTagWithCount(item_tag="
            message += f"{_requested(output, self.book)}, count={int(count)})"
            return Outcome(message, False, self._recipe_error(output))
        for item, n in entries:
            self.inventory[item] -= n
            if self.inventory[item] <= 0:
                del self.inventory[item]
        self.inventory[recipe.output] += recipe.count
        return Outcome(f"Crafted {recipe.count} {_game_id(recipe.output)}", True)

    def _recipe_for(self, output: str, entries: list[tuple[str, int]]) -> Recipe | None:
        """The first recipe of ``output`` whose every slot one entry fills with exactly its
        count, with no entry left over (ADaPT's ``CraftingTree.craft``)."""
        for recipe in self.book.recipes.get(output, ()):
            left = list(entries)
            for wanted, count in recipe.inputs:
                found = next((e for e in left if self.book.matches(e[0], wanted)), None)
                if found is None or found[1] != count:
                    break
                left.remove(found)
            else:
                if not left:
                    return recipe
        return None

    def _recipe_error(self, output: str) -> str:
        if output in self.book.tags:
            return f"{output!r} is a tag: craft one of its items"
        if output not in self.book.recipes:
            return f"no recipe makes {clip(output)!r}"
        shown = "; ".join(r.command() for r in self.book.recipes[output])
        return f"the ingredients must be exactly one batch of a recipe: {shown}"
