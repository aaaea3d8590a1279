"""TextCraft: recipes checked by hand, determinism, crafting rules, messages, planner, env."""

from __future__ import annotations

import hashlib
import random
import warnings
from collections import Counter

import pytest
from gymnasium.utils.env_checker import check_env
from program_support import outputs_under_hash_seeds

from societygym.envs.programs.textcraft.planner import solve
from societygym.envs.programs.textcraft.recipes import (
    Recipe,
    RecipeBook,
    load_book,
    minecraft_recipes,
    readable,
)
from societygym.envs.programs.textcraft.tasks import make_task
from societygym.envs.programs.textcraft.textcraft_env import TextCraftEnv
from societygym.envs.programs.textcraft.world import World

GOAL_COUNT = 407
DEPTHS = {2: 280, 3: 116, 4: 11}
LAYOUTS_FINGERPRINT = "7e8a2708101d31ef"  # every goal's task text at seed 0


@pytest.fixture(scope="module")
def book() -> RecipeBook:
    return load_book()


def test_recipes_checked_by_hand(book: RecipeBook) -> None:
    assert book.match("oak planks", 4, {"oak log": 1})
    assert book.canonical["oak planks"].command() == "craft 4 oak planks using 1 oak log"
    assert book.canonical["crafting table"].command() == "craft 1 crafting table using 4 oak planks"
    assert book.match("crafting table", 1, {"birch planks": 4})  # any planks, as in Minecraft
    assert book.match("stick", 4, {"oak planks": 2})
    assert book.match("torch", 4, {"coal": 1, "stick": 1})
    assert book.canonical["polished granite stairs"] == Recipe(
        "polished granite stairs", 4, (("polished granite", 6),)
    )
    assert book.canonical["granite"].command() == "craft 1 granite using 1 diorite, 1 quartz"
    assert book.match("bread", 1, {"wheat": 3})
    assert book.depth["oak log"] == 0
    assert book.depth["oak planks"] == 1
    assert book.depth["crafting table"] == 2
    assert book.depth["polished granite stairs"] == 4  # ADaPT's first test goal, depth 4


def test_cycles_are_broken_as_documented(book: RecipeBook) -> None:
    # the material of a storage loop becomes raw; its block and nugget are made from it
    assert {"iron ingot", "gold ingot", "wheat", "coal", "diamond"} <= book.raw
    assert book.match("iron block", 1, {"iron ingot": 9})
    assert book.match("iron nugget", 9, {"iron ingot": 1})
    assert not book.is_craftable("iron ingot")
    # recipes that only lead back up a loop are dropped, the others kept
    assert not book.match("bone meal", 9, {"bone block": 1})
    assert book.match("bone meal", 3, {"bone": 1})
    assert not book.match("quartz slab", 6, {"chiseled quartz block": 3})
    assert book.match("quartz slab", 6, {"quartz block": 3})
    for item in book.recipes:
        stack, seen = [item], set()
        while stack:  # no item depends on itself
            for recipe in book.recipes.get(stack.pop(), ()):
                for ingredient in recipe.ingredients():
                    assert ingredient != item, f"{item} is on a loop"
                    if ingredient not in seen:
                        seen.add(ingredient)
                        stack.append(ingredient)


def test_goals_count_depths_and_order(book: RecipeBook) -> None:
    assert len(book.goals) == GOAL_COUNT
    assert Counter(book.depth[g] for g in book.goals) == DEPTHS
    assert list(book.goals) == sorted(book.goals, key=lambda g: (-book.depth[g], g))
    assert book.goals[:2] == ("cyan banner", "gray banner")


def test_book_is_independent_of_input_order(book: RecipeBook) -> None:
    recipes, rank = minecraft_recipes()
    rng = random.Random(0)
    for _ in range(2):
        rng.shuffle(recipes)
        shuffled = RecipeBook(list(reversed(recipes)), dict(reversed(list(rank.items()))))
        assert shuffled.goals == book.goals
        assert shuffled.canonical == book.canonical
        assert shuffled.recipes == book.recipes
        assert shuffled.raw_by_choice == book.raw_by_choice


def test_tasks_are_independent_of_hash_seed() -> None:
    probe = (
        "import hashlib;"
        "from societygym.envs.programs.textcraft.recipes import load_book;"
        "from societygym.envs.programs.textcraft.tasks import make_task;"
        "b = load_book(); state = repr((b.goals, b.canonical, make_task(b, b.goals[5], 3)));"
        "print(hashlib.sha256(state.encode()).hexdigest())"
    )
    assert len(outputs_under_hash_seeds(probe)) == 1


def test_every_goal_is_solvable_within_the_step_limit(book: RecipeBook) -> None:
    lengths = Counter()
    for goal in book.goals:
        plan = solve(goal, book)
        world = World(book)
        for command in plan:
            outcome = world.execute(command)
            assert outcome.ok, (goal, command, outcome)
        assert world.inventory[goal] >= 1, goal
        assert len(plan) <= 40, (goal, plan)
        lengths[len(plan)] += 1
    print("plan lengths:", dict(sorted(lengths.items())))
    assert min(lengths) == 3 and max(lengths) <= 12


def test_crafting_needs_an_exact_recipe(book: RecipeBook) -> None:
    world = World(book)
    assert world.execute("get 3 oak log").message == "Got 3 oak log"
    refused = world.execute("craft 4 oak planks using 2 oak log")
    assert refused.message == "Could not find a valid recipe for 4 oak planks"
    assert not refused.ok and "k times" in refused.error
    assert not world.execute("craft 1 oak planks using 1 oak log").ok  # one batch makes 4
    assert not world.execute("craft 4 oak planks using 1 oak log, 1 stick").ok
    assert world.execute("craft 8 oak planks using 2 oak log").message == "Crafted 8 oak planks"
    assert world.execute("craft 4 oak_planks using 1 minecraft:oak_log").ok
    assert dict(world.inventory) == {"oak planks": 12}
    assert world.execute("craft 1 crafting table using 4 oak planks").ok
    short = world.execute("craft 8 stick using 4 birch planks")
    assert short.message == "Could not find enough items to craft 8 stick"
    assert short.error == "lacking 4 birch planks"
    assert dict(world.inventory) == {"oak planks": 8, "crafting table": 1}
    assert world.execute("inventory").message == "Inventory: [crafting table] (1) [oak planks] (8)"


def test_failure_messages(book: RecipeBook) -> None:
    world = World(book)
    assert world.execute("inventory").message == "Inventory: You are not carrying anything."
    cases = {
        "get 1 oak planks": "Could not find oak planks",
        "get 2 unobtainium": "Could not find unobtainium",
        "get oak log": "Wrong item format: oak log",
        "get 0 oak log": "Wrong item format: 0 oak log",
        "get 12345678901 oak log": "Wrong item format: 12345678901 oak log",
        "craft 1 unobtainium using 1 oak log": "Could not find a valid recipe for 1 unobtainium",
        "craft 4 oak planks using oak log": "Wrong item format: oak log",
        "dance": "Could not execute dance",
    }
    for command, message in cases.items():
        outcome = world.execute(command)
        assert (outcome.message, outcome.ok) == (message, False), command
        assert outcome.error
    assert world.execute("get 1 oak planks").error == "'oak planks' is crafted, not gathered"
    assert len(world.execute("x" * 100_000).message) < 300  # long commands are not echoed whole
    assert "at most" in world.execute("get 1 oak log" + " " * 2000).error
    assert not world.inventory
    assert readable("minecraft:Oak_Planks ") == "oak planks"


def test_task_layouts_are_pinned(book: RecipeBook) -> None:
    texts = "\n\n".join(make_task(book, goal, seed=0).text for goal in book.goals)
    assert hashlib.sha256(texts.encode()).hexdigest()[:16] == LAYOUTS_FINGERPRINT


def test_task_layout(book: RecipeBook) -> None:
    goal = "polished granite stairs"
    task = make_task(book, goal, seed=0)
    tree = {recipe.command() for recipe in book.tree(goal)}
    assert tree <= set(task.commands)
    assert len(task.commands) == len(tree) + 10
    assert task.text.startswith("Crafting commands:\n")
    assert task.text.endswith("\n\nGoal: craft polished granite stairs.")
    assert make_task(book, goal, seed=0) == task
    layouts = {make_task(book, goal, seed=s).commands for s in range(5)}
    assert len(layouts) == 5
    assert len(make_task(book, goal, seed=0, num_distractors=0).commands) == len(tree)
    with pytest.raises(ValueError, match="no recipe"):
        make_task(book, "oak log", seed=0)


def test_env_solves_with_the_planner() -> None:
    env = TextCraftEnv()
    observation, info = env.reset(seed=3, options={"goal": "lectern"})
    assert "Goal: craft lectern." in observation and info["task_id"].startswith("textcraft-")
    rewards = []
    for command in solve("lectern", env.book):
        observation, reward, terminated, truncated, info = env.step(command)
        rewards.append(reward)
        assert not info["invalid"] and not truncated
    assert terminated and rewards[-1] == 1.0 and sum(rewards) == 1.0
    assert info["success"] and info["inventory"]["lectern"] == 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step("inventory")


def test_env_truncates_and_flags_invalid_commands() -> None:
    env = TextCraftEnv(max_steps=3)
    env.reset(seed=0, options={"index": 0})
    _, _, _, truncated, info = env.step("get 1 stick")
    assert info["invalid"] and not truncated and info["error"]
    env.step("inventory")
    _, reward, terminated, truncated, info = env.step("inventory")
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert not info["invalid"] and info["steps"] == 3
    env.reset(seed=0)
    with pytest.raises(TypeError, match="command"):
        env.step(3)


def test_env_reset_options_and_determinism() -> None:
    env = TextCraftEnv()
    first, info = env.reset(seed=11)
    assert env.reset(seed=11) == (first, info)
    assert env.reset(seed=0, options={"index": 9})[1]["goal"] == "polished granite stairs"
    with pytest.raises(IndexError):
        env.reset(options={"index": GOAL_COUNT})
    with pytest.raises(ValueError, match="not a goal"):
        env.reset(options={"goal": "oak planks"})
    with pytest.raises(ValueError, match="max_steps"):
        TextCraftEnv(max_steps=0)


def test_env_passes_check_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(TextCraftEnv(), skip_render_check=True)
