"""Procedural scenes: coloured shapes on a 3x3 grid, drawn exactly and questioned exactly.

This is the VQA domain's embedded text-to-image backend and its answer key. A ``Scene`` is a
list of objects (shape, colour, grid cell, size) plus a ``variant`` number that fixes the
details a description leaves open (background shade, jitter inside the cell, free cells).
``render`` is deterministic, objects never overlap, so every question ``answer`` gets right
about a scene is also right about its image: generated data is correct by construction.

Stable API (other envs draw with it too):

- ``Obj``, ``Scene``, ``SHAPES``, ``COLORS``, ``POSITIONS``, ``SIZES``
- ``render(scene, size=64) -> PIL.Image``
- ``parse_description(text) -> Scene`` (raises ``SceneError``) and ``describe(scene)``,
  its inverse (``parse_description(describe(s)) == s``)
- ``random_scene(rng, ...)`` from an ``np.random.Generator``
- ``answer(scene, question) -> str | None``: the exact answer to a question in the
  templates' language (None when it is not understood or has no single answer)
- ``ask(scene, skill, rng) -> (question, answer) | None``: a question of a skill about a scene
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "rectangle", "triangle")
# easy-VQA's eight colours, with its RGB values
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "teal": (0, 128, 128),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "brown": (165, 42, 42),
}
# cell index = 3 * row + column
POSITIONS = (
    "top left",
    "top",
    "top right",
    "left",
    "center",
    "right",
    "bottom left",
    "bottom",
    "bottom right",
)
# radius as a fraction of the image side; "large" only when an object is alone
SIZES: dict[str, float] = {"small": 0.09, "medium": 0.13, "large": 0.22}
MAX_OBJECTS = len(POSITIONS)
NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
)

SYNONYMS = {
    "grey": "gray",
    "colour": "color",
    "square": "rectangle",
    "box": "rectangle",
    "disc": "circle",
    "disk": "circle",
    "ball": "circle",
    "centre": "center",
    "middle": "center",
    "big": "large",
    "tiny": "small",
}


class SceneError(ValueError):
    """A description that names no drawable scene (why is in the message)."""


@dataclass(frozen=True)
class Obj:
    shape: str
    color: str
    cell: int  # index into POSITIONS
    size: str = "medium"

    @property
    def position(self) -> str:
        return POSITIONS[self.cell]


@dataclass(frozen=True)
class Scene:
    objects: tuple[Obj, ...]
    variant: int = 0

    def __post_init__(self) -> None:
        if not self.objects:
            raise SceneError("a scene needs at least one object")
        cells = [o.cell for o in self.objects]
        if len(set(cells)) != len(cells):
            raise SceneError("two objects share a grid cell")
        for o in self.objects:
            if o.shape not in SHAPES or o.color not in COLORS or o.size not in SIZES:
                raise SceneError(f"unknown shape, colour or size in {o}")
            if not 0 <= o.cell < MAX_OBJECTS:
                raise SceneError(f"cell {o.cell} is off the 3x3 grid")
        if len(self.objects) > 1 and any(o.size == "large" for o in self.objects):
            raise SceneError("a large object must be alone in its scene")


# --- rendering -------------------------------------------------------------------------------


def _rng(scene: Scene) -> np.random.Generator:
    return np.random.default_rng([scene.variant, len(scene.objects)])


def render(scene: Scene, size: int = 64) -> Image.Image:
    """The scene as an RGB image, ``size`` pixels square; same scene, same pixels."""
    rng = _rng(scene)
    background = tuple(int(v) for v in rng.integers(230, 256, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    cell = size / 3
    for obj in sorted(scene.objects, key=lambda o: o.cell):
        radius = SIZES[obj.size] * size
        aspect, flip, jx, jy = rng.uniform(0.75, 1.0), rng.integers(2), *rng.uniform(-1, 1, 2)
        # a large object (always alone) may overlap other cells, but its centre stays in its own
        slack = cell / 4 if obj.size == "large" else max(cell / 2 - radius - 1, 0)
        low, high = radius + 1, size - radius - 1
        cx = min(max((obj.cell % 3 + 0.5) * cell + jx * slack, low), high)
        cy = min(max((obj.cell // 3 + 0.5) * cell + jy * slack, low), high)
        color = COLORS[obj.color]
        if obj.shape == "circle":
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=color)
        elif obj.shape == "rectangle":
            w, h = (radius, radius * aspect) if flip else (radius * aspect, radius)
            draw.rectangle((cx - w, cy - h, cx + w, cy + h), fill=color)
        else:
            top, bottom = (cy - radius, cy + radius) if flip else (cy + radius, cy - radius)
            draw.polygon([(cx, top), (cx - radius, bottom), (cx + radius, bottom)], fill=color)
    return image


def render_array(scene: Scene, size: int = 64) -> np.ndarray:
    return np.asarray(render(scene, size), dtype=np.uint8)


# --- descriptions ----------------------------------------------------------------------------


def describe(scene: Scene) -> str:
    """The canonical description: one clause per object, then the variant."""
    parts = [f"a {o.size} {o.color} {o.shape} at {o.position}" for o in scene.objects]
    return "; ".join(parts) + f" [variant {scene.variant}]"


def _canon(word: str) -> str:
    """A word in the templates' vocabulary: synonyms mapped, shape plurals kept plural."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    for suffix in ("es", "s"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and SYNONYMS.get(stem, stem) in SHAPES:
            return SYNONYMS.get(stem, stem) + "s"
    return word


def _words(text: str) -> list[str]:
    return [_canon(w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and word[:-1] in SHAPES else word


_POSITION_RE = re.compile(
    r"\b(?:at|in|on|to)\s+(?:the\s+)?"
    r"(top left|top right|bottom left|bottom right|top|bottom|left|right|center)\b"
)


def _count(words: list[str]) -> int:
    for w in words:
        if w.isdigit():
            return int(w)
        if w in NUMBER_WORDS:
            return NUMBER_WORDS.index(w)
    return 1


def parse_description(text: str) -> Scene:
    """A scene from free text such as "two red circles and a large blue square at the top".

    Clauses are split on ``;``, ``,`` and "and"; each names a shape and optionally a count,
    size, colour and position. What a clause leaves open (colour, size, cell) is chosen
    deterministically from the text's hash, or from "[variant N]" when given.
    """
    text = text.lower()
    variant_match = re.search(r"\[?\s*variant\s+(\d+)\s*\]?", text)
    if variant_match:
        variant = int(variant_match.group(1)) % 2**31
        text = text.replace(variant_match.group(0), " ")
    else:
        normal = " ".join(_words(text))
        variant = int(hashlib.sha256(normal.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(variant)
    specs: list[tuple[str, str | None, str | None, int | None]] = []
    for clause in re.split(r"[;,]|\band\b|\bwith\b", re.sub(r"[^a-z0-9;, ]", " ", text)):
        words = [_singular(w) for w in _words(clause)]
        shapes = [w for w in words if w in SHAPES]
        if not shapes:
            continue
        if len(shapes) > 1:
            raise SceneError(f"one shape per clause, got {shapes} in {clause.strip()!r}")
        colors = [w for w in words if w in COLORS]
        sizes = [w for w in words if w in SIZES]
        where = _POSITION_RE.search(" ".join(words))
        cell = POSITIONS.index(where.group(1)) if where else None
        n = _count(words)
        if n > 1 and cell is not None:
            raise SceneError(f"{n} objects cannot share the cell {where.group(1)!r}")
        for _ in range(n):
            specs.append(
                (shapes[0], colors[0] if colors else None, sizes[0] if sizes else None, cell)
            )
    if not specs:
        raise SceneError("the description names no shape (circle, rectangle or triangle)")
    if len(specs) > MAX_OBJECTS:
        raise SceneError(f"at most {MAX_OBJECTS} objects fit the 3x3 grid, got {len(specs)}")
    taken = [cell for *_, cell in specs if cell is not None]
    if len(set(taken)) != len(taken):
        raise SceneError("two objects are placed in the same cell")
    free = [c for c in rng.permutation(MAX_OBJECTS).tolist() if c not in taken]
    objects = []
    for shape, color, size, cell in specs:
        color = color or str(rng.choice(list(COLORS)))
        size = size or ("large" if len(specs) == 1 else "medium")
        if len(specs) > 1 and size == "large":
            size = "medium"  # a large object would cover its neighbours
        objects.append(Obj(shape, color, cell if cell is not None else free.pop(0), size))
    return Scene(tuple(objects), variant)


def random_scene(
    rng: np.random.Generator, min_objects: int = 1, max_objects: int = 5, alone_large: float = 0.5
) -> Scene:
    """A random scene; a lone object is drawn large with probability ``alone_large`` (easy-VQA
    draws one large shape per image)."""
    n = int(rng.integers(min_objects, max_objects + 1))
    cells = rng.choice(MAX_OBJECTS, size=n, replace=False)
    objects = []
    for cell in cells:
        size = (
            "large"
            if n == 1 and rng.random() < alone_large
            else str(rng.choice(["small", "medium"]))
        )
        objects.append(Obj(str(rng.choice(SHAPES)), str(rng.choice(list(COLORS))), int(cell), size))
    return Scene(tuple(objects), int(rng.integers(2**31)))


# --- questions -------------------------------------------------------------------------------

SKILLS = ("shape", "color", "shape_presence", "color_presence", "negation", "count", "position")
DESCRIPTIONS = {
    "shape": "name the shape of an object (circle, rectangle or triangle)",
    "color": "name the colour of an object",
    "shape_presence": "yes/no: is a given shape in the image",
    "color_presence": "yes/no: is a shape of a given colour in the image",
    "negation": "yes/no questions with a negation ('is there not a ...')",
    "count": "count the objects of a shape or colour (a digit)",
    "position": "where an object is on a 3x3 grid (e.g. 'top left', 'center')",
}
ANSWERS: tuple[str, ...] = (
    *SHAPES,
    *COLORS,
    "yes",
    "no",
    *(str(n) for n in range(MAX_OBJECTS + 1)),
    *POSITIONS,
)

_PRESENCE = (
    "is there a {x}?",
    "is there a {x} in the image?",
    "does the image contain a {x}?",
    "is a {x} present?",
)
_NEGATED = (
    "is there not a {x}?",
    "is there not a {x} in the image?",
    "does the image not contain a {x}?",
    "is no {x} present?",
)


def _matches(obj: Obj, color: str | None, shape: str | None) -> bool:
    return (color is None or obj.color == color) and (shape is None or obj.shape == shape)


def _target(words: list[str]) -> tuple[str | None, str | None]:
    """The (colour, shape) a question is about; "shape"/"object" alone mean any shape."""
    color = next((w for w in words if w in COLORS), None)
    shape = next((_singular(w) for w in words if _singular(w) in SHAPES), None)
    return color, shape


def answer(scene: Scene, question: str) -> str | None:
    """The exact answer to ``question`` about ``scene``, or None when the question is not
    one this module understands or has no single answer (e.g. two circles, "what colour is
    the circle?")."""
    words = _words(question)
    if not words:
        return None
    text = " ".join(words)
    color, shape = _target(words)
    hits = [o for o in scene.objects if _matches(o, color, shape)]
    if text.startswith("how many"):
        return str(len(hits)) if (color or shape) else None
    if text.startswith("where"):
        return hits[0].position if len(hits) == 1 and (color or shape) else None
    if text.startswith("what"):
        if len(hits) != 1:
            return None
        if "color" in words:
            return hits[0].color
        return hits[0].shape if "shape" in words or "object" in words else None
    if words[0] in ("is", "does", "are") and (color or shape):
        negated = "not" in words or "no" in words
        return "yes" if bool(hits) != negated else "no"
    return None


def ask(scene: Scene, skill: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """A question of ``skill`` about ``scene`` and its answer, or None when the scene has no
    object such a question can single out."""
    objs = scene.objects
    if skill in ("shape", "color", "position"):
        key = {"shape": "color", "color": "shape", "position": None}[skill]
        if key is None:
            unique = [o for o in objs if sum(_matches(p, o.color, o.shape) for p in objs) == 1]
        else:
            unique = [o for o in objs if sum(getattr(p, key) == getattr(o, key) for p in objs) == 1]
        if not unique:
            return None
        o = unique[int(rng.integers(len(unique)))]
        if skill == "shape":
            forms = ["what shape is the {c} object?", "what is the {c} shape?"]
            if len(objs) == 1:
                forms += ["what shape does the image contain?", "what shape is present?"]
            question = str(rng.choice(forms)).format(c=o.color)
        elif skill == "color":
            forms = ["what color is the {s}?"]
            if len(objs) == 1:
                forms += ["what color is the shape?"]
            question = str(rng.choice(forms)).format(s=o.shape)
        else:
            question = f"where is the {o.color} {o.shape}?"
    elif skill == "count":
        # mostly about something in the scene, so that "0" is not the usual answer
        o = objs[int(rng.integers(len(objs)))]
        present = rng.random() < 0.8
        if rng.random() < 0.5:
            question = f"how many {o.shape if present else rng.choice(SHAPES)}s are there?"
        else:
            color = o.color if present else rng.choice(list(COLORS))
            question = f"how many {color} shapes are there?"
    elif skill in ("shape_presence", "color_presence", "negation"):
        by_shape = skill == "shape_presence" or (skill == "negation" and rng.random() < 0.5)
        # ask about something present half the time, so yes and no are balanced
        values = SHAPES if by_shape else tuple(COLORS)
        inside = sorted({o.shape if by_shape else o.color for o in objs})
        outside = [v for v in values if v not in inside]
        pool = inside if rng.random() < 0.5 or not outside else outside
        value = str(pool[int(rng.integers(len(pool)))])
        x = value if by_shape else f"{value} shape"
        forms = _NEGATED if skill == "negation" else _PRESENCE
        question = str(rng.choice(forms)).format(x=x)
    else:
        raise ValueError(f"unknown VQA skill {skill!r}; known: {', '.join(SKILLS)}")
    reply = answer(scene, question)
    return None if reply is None else (question, reply)


def sample(skill: str, rng: np.random.Generator, max_objects: int = 5) -> tuple[Scene, str, str]:
    """A random scene with a question of ``skill`` and its exact answer."""
    while True:
        scene = random_scene(rng, max_objects=max_objects)
        qa = ask(scene, skill, rng)
        if qa is not None:
            return scene, *qa


def classify(question: str) -> str | None:
    """The skill of a question in the templates' (and easy-VQA's) language."""
    words = _words(question)
    if not words:
        return None
    text = " ".join(words)
    if text.startswith("how many"):
        return "count"
    if text.startswith("where"):
        return "position"
    if text.startswith("what"):
        return "color" if "color" in words else "shape"
    if "not" in words or "no" in words:
        return "negation"
    color, _ = _target(words)
    return "color_presence" if color else "shape_presence"
