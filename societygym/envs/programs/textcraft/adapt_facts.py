"""Minecraft 1.16.5 facts that ADaPT's TextCraft read from the game's recipe files and that
``minecraft-data`` (which lists every recipe with its tags already expanded) does not keep.

Names are readable item names (``oak planks``), as the world uses them.
"""

from __future__ import annotations

WOODS = ("oak", "spruce", "birch", "jungle", "acacia", "dark oak")
STEMS = ("crimson", "warped")
COLOURS = (
    *("white", "orange", "magenta", "light blue", "yellow", "lime", "pink", "gray"),
    *("light gray", "cyan", "purple", "blue", "brown", "green", "red", "black"),
)


def _logs(wood: str) -> frozenset[str]:
    return frozenset(
        {f"{wood} log", f"{wood} wood", f"stripped {wood} log", f"stripped {wood} wood"}
    )


def _stems(stem: str) -> frozenset[str]:
    return frozenset(
        {f"{stem} stem", f"{stem} hyphae", f"stripped {stem} stem", f"stripped {stem} hyphae"}
    )


# Item tags a crafting recipe names (``"#minecraft:planks"``): tag → its members.
PER_WOOD_LOGS = {f"{wood} logs": _logs(wood) for wood in WOODS}
PER_STEM = {f"{stem} stems": _stems(stem) for stem in STEMS}
ITEM_TAGS: dict[str, frozenset[str]] = {
    "planks": frozenset(f"{wood} planks" for wood in (*WOODS, *STEMS)),
    "wooden slabs": frozenset(f"{wood} slab" for wood in (*WOODS, *STEMS)),
    "wool": frozenset(f"{colour} wool" for colour in COLOURS),
    "logs": frozenset().union(*PER_WOOD_LOGS.values(), *PER_STEM.values()),
    **PER_WOOD_LOGS,
    **PER_STEM,
    "coals": frozenset({"coal", "charcoal"}),
    "soul fire base blocks": frozenset({"soul sand", "soul soil"}),
    "stone tool materials": frozenset({"cobblestone", "blackstone"}),
}
# Two tags have the same members; these recipes name the second one.
TAG_BY_OUTPUT = {
    "furnace": {"stone tool materials": "stone crafting materials"},
    "brewing stand": {"stone tool materials": "stone crafting materials"},
}

# Recipes whose slot lists alternative items rather than a tag: ADaPT took the first one.
# output → (the first alternative, the others)
FIRST_ALTERNATIVE: dict[str, tuple[str, frozenset[str]]] = {
    **{
        output: ("coal", frozenset({"charcoal"}))
        for output in ("torch", "soul torch", "fire charge")
    },
    "tnt": ("sand", frozenset({"red sand"})),
    **{
        f"quartz {shape}": ("quartz block", frozenset({"chiseled quartz block", "quartz pillar"}))
        for shape in ("slab", "stairs")
    },
    **{
        f"purpur {shape}": ("purpur block", frozenset({"purpur pillar"}))
        for shape in ("slab", "stairs")
    },
    **{
        f"{kind}sandstone {shape}": (
            f"{kind}sandstone",
            frozenset({f"chiseled {kind}sandstone", f"cut {kind}sandstone"}),
        )
        for kind in ("", "red ")
        for shape in ("slab", "stairs")
    },
}

# Recipe groups that name a tag a recipe asks for: ADaPT counts an item as a member of such a
# tag only if its recipe carries the group (the dyed wools do; wool from string does not).
GROUP_MEMBERS: dict[str, frozenset[str]] = {
    "planks": ITEM_TAGS["planks"],
    "wool": ITEM_TAGS["wool"] - {"white wool"},
}

# Loops ADaPT broke by skipping, in its file order, the recipe that closed them: these items
# stay raw (ADaPT's players get them) and their recipe from the loop is gone.
LOOP_RAW = frozenset({"iron ingot", "gold ingot", "honey block"})
