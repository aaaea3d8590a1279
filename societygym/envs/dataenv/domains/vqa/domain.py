"""The VQA teaching domain: a student answers questions about images.

Evaluation (``source``):

- ``"mixed"`` (default): easy-VQA's real test images and questions for the skills it has
  (shape, colour, shape/colour presence, negation) and frozen procedural scenes for the two
  it lacks (count, position);
- ``"easy_vqa"``: easy-VQA only (five skills); ``"procedural"``: procedural scenes only.

The validation split uses easy-VQA test images 0-499, the test split images 500-999 (and
different procedural seeds), 40 items per skill each, fingerprinted below.

A teacher example is ``{"instruction": question, "response": answer, "image": ...}`` where
the image is a scene description (drawn by the ``text_to_image`` backend: the exact
procedural renderer by default, or a ``diffusers`` pipeline), a PNG data URI, or an
easy-VQA *training* image reference ``easy_vqa:train/<id>``. The held-out check compares
pixels and question, so redrawing a validation image under another name does not help.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache, cached_property
from typing import Any

import numpy as np
from gymnasium import spaces

from societygym.envs.dataenv.domain import SPLITS, Domain
from societygym.envs.dataenv.domains.math_answers import extract_final_answer
from societygym.envs.dataenv.domains.vqa import easy_vqa_data, scenes
from societygym.envs.dataenv.domains.vqa.images import (
    decode_data_uri,
    is_data_uri,
    pixel_digest,
    to_array,
)
from societygym.envs.dataenv.domains.vqa.text_to_image import ProceduralBackend, make_backend
from societygym.envs.dataenv.near_duplicates import NearDuplicateIndex
from societygym.envs.dataenv.records import Example, Graded, TaskItem, fingerprint, question_key

SOURCES = ("mixed", "easy_vqa", "procedural")
EASY_VQA_SKILLS = ("shape", "color", "shape_presence", "color_presence", "negation")
PER_SKILL = 40
# the most a split can hold per skill: easy-VQA's test images have ~150 "yes" answers per
# presence skill in each half, and yes/no questions are balanced
MAX_PER_SKILL = 300
VALIDATION_IMAGES = 500  # easy-VQA test images [0, 500) validate, [500, 1000) test
SPLIT_SEEDS = {"validation": 3_000_017, "test": 4_000_037}
FINGERPRINTS = {
    "mixed": {"validation": "2faef4e0d28aee73", "test": "1f621013ce0667b0"},
    "easy_vqa": {"validation": "e5794c5a7d16bd06", "test": "01c73a55b4359400"},
    "procedural": {"validation": "113829d3cfbf821f", "test": "2297a6ec68432b50"},
}
MAX_ERROR_IMAGES = 8
IMAGE_CACHE = 8192
NUMBER_WORDS = {w: str(i) for i, w in enumerate(scenes.NUMBER_WORDS)}
ANSWER_SYNONYMS = {"grey": "gray", "square": "rectangle", **NUMBER_WORDS}


def normalize_answer(text: str) -> str:
    """A reply reduced to its answer: the final answer (``extract_final_answer``: the
    suite's one formatting leniency, "The answer is", ``\\boxed{}``), lower case, no
    punctuation or articles, synonyms and number words mapped ("A Square." -> "rectangle",
    "two" -> "2")."""
    words = re.findall(r"[a-z0-9]+", extract_final_answer(text).lower())
    words = [ANSWER_SYNONYMS.get(w, w) for w in words if w not in ("a", "an", "the")]
    return " ".join(words)


def _easy_vqa_items(split: str, skills: Sequence[str], per_skill: int) -> dict[str, list[TaskItem]]:
    rng = np.random.default_rng(SPLIT_SEEDS[split])
    rows = [
        (q, a, i)
        for q, a, i in easy_vqa_data.questions("test")
        if (i < VALIDATION_IMAGES) == (split == "validation")
    ]
    by_skill: dict[str, list[TaskItem]] = {s: [] for s in skills}
    per_answer: dict[tuple[str, str], int] = {}
    for index in rng.permutation(len(rows)):
        question, reply, image_id = rows[index]
        skill = scenes.classify(question)
        bucket = by_skill.get(skill or "")
        if bucket is None or len(bucket) >= per_skill:
            continue
        # easy-VQA's yes/no questions are mostly "no"; balance them so that a constant
        # reply scores 50%, not 95%
        if reply in ("yes", "no"):
            if per_answer.get((skill, reply), 0) >= per_skill // 2:
                continue
            per_answer[(skill, reply)] = per_answer.get((skill, reply), 0) + 1
        ref = easy_vqa_data.reference("test", image_id)
        item_id = f"vqa/{split}/{skill}/{len(bucket)}"
        bucket.append(TaskItem(item_id, question, reply, skill, ref))
    return by_skill


def _procedural_items(
    split: str, skills: Sequence[str], taken: set[str], per_skill: int
) -> dict[str, list]:
    by_skill: dict[str, list[TaskItem]] = {}
    for index, skill in enumerate(scenes.SKILLS):
        if skill not in skills:
            continue
        rng = np.random.default_rng([SPLIT_SEEDS[split], index])
        items: list[TaskItem] = []
        while len(items) < per_skill:
            scene, question, reply = scenes.sample(skill, rng)
            ref = scenes.describe(scene)
            key = question_key(ref + "\n" + question)
            if key in taken:
                continue
            taken.add(key)
            items.append(TaskItem(f"vqa/{split}/{skill}/{len(items)}", question, reply, skill, ref))
        by_skill[skill] = items
    return by_skill


@cache
def build_splits(source: str, per_skill: int = PER_SKILL) -> dict[str, tuple[TaskItem, ...]]:
    """The frozen splits of ``source``, in skill order, ``per_skill`` items per skill
    (easy-VQA holds enough for up to ``MAX_PER_SKILL``)."""
    if not 1 <= per_skill <= MAX_PER_SKILL:
        raise ValueError(f"per_skill must be in [1, {MAX_PER_SKILL}], got {per_skill}")
    skills = source_skills(source)
    real = EASY_VQA_SKILLS if source != "procedural" else ()
    taken: set[str] = set()
    splits = {}
    for split in SPLITS:
        by_skill = (
            _easy_vqa_items(split, [s for s in skills if s in real], per_skill) if real else {}
        )
        procedural = [s for s in skills if s not in real]
        by_skill.update(_procedural_items(split, procedural, taken, per_skill))
        splits[split] = tuple(item for skill in skills for item in by_skill[skill])
    return splits


def source_skills(source: str) -> tuple[str, ...]:
    if source not in SOURCES:
        raise ValueError(f"unknown VQA source {source!r}; expected one of {SOURCES}")
    return EASY_VQA_SKILLS if source == "easy_vqa" else scenes.SKILLS


@cache
def _held_out_keys(source: str, image_size: int, per_skill: int) -> frozenset[str]:
    return Domain.held_out_keys.func(VQADomain(source, image_size, per_skill=per_skill))


@cache
def _held_out_index(source: str, image_size: int, per_skill: int) -> NearDuplicateIndex:
    return Domain.held_out_index.func(VQADomain(source, image_size, per_skill=per_skill))


class VQADomain(Domain):
    """Visual question answering over shapes, colours, counts and positions.

    ``image_size``: side of the (square) images the student sees; ``text_to_image``:
    ``"procedural"`` or ``"diffusers:<pipeline>"`` (see ``text_to_image.make_backend``);
    ``verify_fingerprints``: refuse splits that differ from the pinned ones (pinned for the
    default ``per_skill``; larger splits, for tighter intervals, are built the same way).
    """

    name = "vqa"
    max_new_tokens = 8
    has_images = True
    example_hint = (
        'Each example also needs "image": a description of the picture the question is '
        'about, e.g. "a red circle at top left; two small blue triangles" (shapes: circle, '
        "rectangle, triangle; colours: " + ", ".join(scenes.COLORS) + "; positions on a 3x3 "
        'grid: top left ... center ... bottom right), or a PNG as "data:image/png;base64,...".',
    )

    def __init__(
        self,
        source: str = "mixed",
        image_size: int = 64,
        text_to_image: Any = "procedural",
        verify_fingerprints: bool = True,
        per_skill: int = PER_SKILL,
    ) -> None:
        self.source = source
        self.per_skill = int(per_skill)
        self._skills = source_skills(source)
        self.image_size = int(image_size)
        self.backend = make_backend(text_to_image)
        self.verify_fingerprints = verify_fingerprints
        self._images: OrderedDict[str, np.ndarray] = OrderedDict()

    # --- data ---------------------------------------------------------------------------------

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills

    @property
    def answers(self) -> tuple[str, ...]:
        """Every answer a question of this domain can have (the CNN student's classes)."""
        return scenes.ANSWERS

    def load_split(self, split: str) -> list[TaskItem]:
        items = build_splits(self.source, self.per_skill)[split]
        pinned = self.verify_fingerprints and self.per_skill == PER_SKILL
        if pinned and fingerprint(items) != FINGERPRINTS[self.source][split]:
            raise RuntimeError(
                f"the VQA {self.source} {split} split does not match its fingerprint"
            )
        return list(items)

    def describe_skill(self, skill: str) -> str:
        return scenes.DESCRIPTIONS.get(skill, super().describe_skill(skill))

    # --- images -------------------------------------------------------------------------------

    def load_image(self, ref: str) -> np.ndarray:
        """The ``image_size`` square RGB array an image reference names (cached)."""
        cached = self._images.get(ref)
        if cached is not None:
            self._images.move_to_end(ref)
            return cached
        if ref.startswith(easy_vqa_data.PREFIX):
            array = to_array(easy_vqa_data.load_image(ref), self.image_size)
        elif is_data_uri(ref):
            array = to_array(decode_data_uri(ref), self.image_size)
        else:
            array = self.backend([ref], self.image_size)[0]
        array.setflags(write=False)
        self._images[ref] = array
        if len(self._images) > IMAGE_CACHE:
            self._images.popitem(last=False)
        return array

    @cached_property
    def held_out_keys(self) -> frozenset[str]:
        # the procedural renderer is deterministic: every env of a process can share them
        if isinstance(self.backend, ProceduralBackend) and type(self) is VQADomain:
            return _held_out_keys(self.source, self.image_size, self.per_skill)
        return super().held_out_keys

    @cached_property
    def held_out_index(self) -> NearDuplicateIndex:
        if isinstance(self.backend, ProceduralBackend) and type(self) is VQADomain:
            return _held_out_index(self.source, self.image_size, self.per_skill)
        return super().held_out_index

    def near_duplicate_scope(self, image: str | None) -> str:
        # easy-VQA asks the same few question templates of every image: only a question
        # about the same pixels can be a copy
        try:
            return pixel_digest(self.load_image(image)) if image else ""
        except ValueError:  # an unusable image; check_example gives the reason
            return ""

    def _key(self, image: str | None, question: str) -> str:
        digest = pixel_digest(self.load_image(image)) if image else ""
        return question_key(f"{digest}\n{question}")

    def item_key(self, item: TaskItem) -> str:
        return self._key(item.image, item.question)

    def example_key(self, example: Example) -> str:
        return self._key(example.image, example.instruction)

    # --- what the student sees and trains on --------------------------------------------------

    def student_input(self, item: TaskItem) -> tuple[np.ndarray, str]:
        return (self.load_image(item.image or ""), item.question)

    def training_pair(self, example: Example) -> tuple[np.ndarray, str, str]:
        image = self.load_image(example.image or "")
        return (image, example.instruction, normalize_answer(example.response))

    def as_task_item(self, example: Example) -> TaskItem:
        item = super().as_task_item(example)
        return TaskItem(item.id, item.question, item.answer, item.skill, example.image)

    # --- judgement ----------------------------------------------------------------------------

    def is_correct(self, prediction: str, item: TaskItem) -> bool:
        return normalize_answer(prediction) == normalize_answer(item.answer)

    def check_example(self, example: Example) -> str | None:
        reason = super().check_example(example)
        if reason is not None:
            return reason
        if not example.image or not example.image.strip():
            return "a VQA example needs an 'image' (a scene description or a PNG data URI)"
        if example.image.startswith(easy_vqa_data.PREFIX + "test"):
            return "easy-VQA test images are held out"
        try:
            self.load_image(example.image)
        except ValueError as error:  # SceneError is a ValueError
            return f"unusable image: {error}"
        if not normalize_answer(example.response):
            return "the response has no answer"
        return None

    def verify(self, example: Example) -> bool | None:
        """Whether the answer is right about the scene the description names (None for
        images that are not descriptions, or questions the scene model does not read)."""
        image = example.image or ""
        if is_data_uri(image) or image.startswith(easy_vqa_data.PREFIX):
            return None
        try:
            reply = scenes.answer(scenes.parse_description(image), example.instruction)
        except scenes.SceneError:
            return False
        if reply is None:
            return None
        return normalize_answer(reply) == normalize_answer(example.response)

    def generate(self, skill: str, count: int, rng: np.random.Generator) -> list[Example]:
        if skill not in self.skills:
            raise ValueError(f"unknown VQA skill {skill!r}")
        out: list[Example] = []
        held_out = self.held_out_keys
        while len(out) < count:
            scene, question, reply = scenes.sample(skill, rng)
            example = Example(question, reply, skill, scenes.describe(scene))
            if self.example_key(example) not in held_out:
                out.append(example)
        return out

    # --- env hooks ----------------------------------------------------------------------------

    def make_student(self, spec: str, finetune: str, train_config: Any, seed: int) -> Any:
        from societygym.envs.dataenv.students.vqa_cnn import VQACNNStudent

        if spec in ("embedded", "cnn", "tiny"):
            width = 8 if spec == "tiny" else 16
            config = dict(train_config or {})
            return VQACNNStudent(self.answers, self.image_size, seed, width=width, **config)
        if spec.startswith("vlm:"):
            from societygym.envs.dataenv.students.vlm import VLMStudent

            return VLMStudent(spec[4:], finetune=finetune, train_config=train_config, seed=seed)
        raise ValueError(
            f"unknown VQA student {spec!r}: 'cnn' (the embedded default), 'tiny', "
            "'vlm:<model dir or id>' or a student object"
        )

    def observation_spaces(self, max_errors: int) -> dict[str, spaces.Space]:
        shape = (min(max_errors, MAX_ERROR_IMAGES), self.image_size, self.image_size, 3)
        return {"error_images": spaces.Box(0, 255, shape, np.uint8)}

    def observation_fields(self, shown: Sequence[Graded], max_errors: int) -> dict[str, Any]:
        """The first error images, in the order of the ``errors`` field, zero-padded."""
        shape = self.observation_spaces(max_errors)["error_images"].shape
        images = np.zeros(shape, np.uint8)
        for slot, graded in enumerate(shown[: shape[0]]):
            images[slot] = self.load_image(graded.item.image or "")
        return {"error_images": images.tolist()}
