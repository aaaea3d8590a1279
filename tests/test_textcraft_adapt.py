"""ADaPT's TextCraft world (world="adapt") and ReGAL's TextCraft files (our own fixture rows)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env
from program_support import needs_sandbox

from societygym.envs.programs.textcraft.adapt import AdaptBook, AdaptWorld, load_adapt_book
from societygym.envs.programs.textcraft.program_api import ProgramWorld, replay
from societygym.envs.programs.textcraft.program_env import TextCraftProgramEnv
from societygym.envs.programs.textcraft.recipes import DEFAULT_VERSION
from societygym.envs.programs.textcraft.tasks import TextCraftTask, load_regal_jsonl
from societygym.envs.programs.textcraft.textcraft_env import TextCraftEnv

# Three rows in ReGAL's format, written for these tests: a lantern (the planks tag filled by
# oak planks, one batch per craft), a campfire (logs and coals: tags that are items to get), a
# painting (the wool tag: dyed wool fills it, white wool does not).
FIXTURE = Path(__file__).parent / "fixtures" / "regal_textcraft_sample.jsonl"


@pytest.fixture(scope="module")
def book() -> AdaptBook:
    return load_adapt_book()


def run(world: AdaptWorld, *commands: str) -> list[str]:
    return [world.execute(command).message for command in commands]


def run_in_process(program: str, world_name: str = "adapt") -> ProgramWorld:
    world = ProgramWorld(world=world_name)
    exec(program, world.namespace())
    return world


def test_tag_names_and_gettable_tag_items(book: AdaptBook) -> None:
    assert set(book.tags) == {"planks", "wool"}
    assert "white wool" not in book.tags["wool"] and "red wool" in book.tags["wool"]
    for item in ("oak logs", "logs", "coals", "stone tool materials", "wooden slabs"):
        assert item in book.raw, item
    world = AdaptWorld(book)
    got = run(world, "get 2 oak logs", "get 1 planks", "get 1 oak planks", "get 1 charcoal")
    assert got == [
        "Got 2 oak logs",
        "Could not find planks",  # a tag
        "Could not find oak planks",  # craftable
        "Could not find charcoal",  # only in a tag or as a second alternative: never named
    ]


def test_recipes_ask_for_tags_or_the_first_alternative(book: AdaptBook) -> None:
    commands = {
        r.command() for item in ("stick", "torch", "furnace", "tnt") for r in book.recipes[item]
    }
    assert commands == {
        "craft 4 stick using 2 planks",
        "craft 1 stick using 2 bamboo",
        "craft 4 torch using 1 coal, 1 stick",  # coal or charcoal: ADaPT took the first
        "craft 1 furnace using 8 stone crafting materials",
        "craft 1 tnt using 5 gunpowder, 4 sand",
    }
    # one-ingredient block recipes are gone, so ingots are raw; loops broke as in ADaPT
    assert {"iron ingot", "gold ingot", "honey block"} <= book.raw
    assert "quartz slab" not in book.recipes and "honey bottle" in book.goals


def test_one_batch_crafts_and_adapt_messages(book: AdaptBook) -> None:
    world = AdaptWorld(book)
    messages = run(
        world,
        "get 2 oak logs",
        "craft 8 oak planks using 2 oak logs",  # two batches at once: refused
        "craft 100 oak planks using 1 oak logs",  # the count asked for is ignored
        "craft 4 stick using 2 planks",  # the tag's name is not an item you hold
        "craft 4 stick using 2 oak planks",
        "inventory",
    )
    assert messages == [
        "Got 2 oak logs",
        "Could not find a valid recipe for ItemTagWithCount(item_tag=ItemTag(tag=None, "
        "item_id='minecraft:oak_planks'), count=8)",
        "Crafted 4 minecraft:oak_planks",
        "Could not find enough items to craft minecraft:stick",
        "Crafted 4 minecraft:stick",
        "Inventory: [oak logs] (1) [oak planks] (2) [stick] (4) ",
    ]
    assert run(AdaptWorld(book), "inventory", "dance", "craft 1 stick using two planks") == [
        "Inventory: You are not carrying anything.",
        "Could not execute dance",
        "Wrong item format: two planks",
    ]


def test_load_regal_jsonl() -> None:
    tasks = load_regal_jsonl(FIXTURE)
    assert [(t.task_id, t.goal, t.world) for t in tasks] == [
        ("env_demo_1", "lantern", "adapt"),
        ("env_demo_2", "campfire", "adapt"),
        ("env_demo_3", "painting", "adapt"),
    ]
    assert tasks[0].commands[0] == "craft 9 iron nugget using 1 iron ingot"
    assert tasks[0].text.endswith("Goal: craft lantern.") and all(t.program for t in tasks)


def test_load_regal_jsonl_rejects_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"idx": "env_1", "language": ["make a cake"], "metadata": ""}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_regal_jsonl(path)


@pytest.mark.parametrize("index", range(3))
def test_fixture_programs_craft_their_goal(index: int) -> None:
    task = load_regal_jsonl(FIXTURE)[index]
    world = run_in_process(task.program or "")
    assert replay(DEFAULT_VERSION, world.trace, task.goal, "adapt")["success"]
    # the same program fails in this suite's own world, which names concrete items
    assert not replay(
        DEFAULT_VERSION, run_in_process(task.program or "", "minecraft").trace, task.goal
    )["success"]


def test_program_world_pickles_with_its_world() -> None:
    copy = pickle.loads(pickle.dumps(ProgramWorld(world="adapt")))
    assert copy.world_name == "adapt" and isinstance(copy.world, AdaptWorld)


def test_interactive_env_runs_regal_tasks() -> None:
    tasks = load_regal_jsonl(FIXTURE)
    env = TextCraftEnv(tasks=tasks)
    assert env.world == "adapt"
    observation, info = env.reset(options={"goal": "campfire"})
    assert observation == tasks[1].text and info["task_id"] == "env_demo_2"
    steps = ["get 2 bamboo", "craft 1 stick using 2 bamboo"] * 3
    steps += ["get 3 logs", "get 1 coals", "craft 1 campfire using 3 logs, 3 stick, 1 coals"]
    for command in steps:
        message, reward, terminated, _, info = env.step(command)
    assert (message, reward, terminated) == ("Crafted 1 minecraft:campfire", 1.0, True)


def test_every_adapt_goal_resets() -> None:
    env = TextCraftEnv(world="adapt")
    for index in range(0, len(env.book.goals), 40):
        observation, info = env.reset(seed=index, options={"index": index})
        assert observation.endswith(f"Goal: craft {env.book.goals[index]}.")
        assert info["task_id"] == f"textcraft-{index}"


def test_tasks_must_be_craftable_in_their_world() -> None:
    # ADaPT dropped one-ingredient block recipes: no quartz slab from quartz block
    task = TextCraftTask("quartz slab", ("craft 6 quartz slab using 3 quartz block",))
    assert TextCraftEnv(tasks=[task]).world == "minecraft"
    with pytest.raises(ValueError, match="no recipe makes"):
        TextCraftEnv(tasks=[task], world="adapt")


@needs_sandbox
def test_program_env_runs_regal_programs_in_the_sandbox() -> None:
    tasks = load_regal_jsonl(FIXTURE)
    env = TextCraftProgramEnv(tasks=tasks)
    observation, info = env.reset(options={"index": 2})
    assert "Goal: craft painting." in observation and '["1 oak logs"]' in observation
    _, reward, _, _, info = env.step(tasks[2].program or "")
    assert reward == 1.0 and info["task_id"] == "env_demo_3", info
    env.reset(options={"index": 2})
    white = (tasks[2].program or "").replace("'1 red wool'])", "'1 white wool'])")
    assert env.step(white)[1] == 0.0  # white wool is not in ADaPT's wool tag


@needs_sandbox
@pytest.mark.parametrize("env_class", [TextCraftEnv, TextCraftProgramEnv])
def test_adapt_envs_pass_check_env(env_class) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(env_class(world="adapt"), skip_render_check=True)
        check_env(env_class(tasks=load_regal_jsonl(FIXTURE)), skip_render_check=True)
