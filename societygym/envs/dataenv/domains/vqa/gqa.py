"""GQA (Hudson & Manning, 2019) as VQA evaluation data, skills = GQA's structural types.

Questions come in the schema of the Hub's ``lmms-lab/GQA`` ``*_instructions`` configs
(``id, imageId, question, answer, types: {structural, semantic, detailed}, ...``), read with
``datasets`` from a local JSON Lines file or from the Hub; images from a local folder
(``<imageId>.jpg`` or ``.png``). Validation and test are split by image (a hash of the image
id), so no image is in both. The procedural engine writes questions in its own skills, so
this domain has no generator: teachers supply images (descriptions or PNGs) themselves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from societygym.envs.dataenv.domain import Domain
from societygym.envs.dataenv.domains.vqa import scenes
from societygym.envs.dataenv.domains.vqa.domain import VQADomain, normalize_answer
from societygym.envs.dataenv.domains.vqa.images import to_array
from societygym.envs.dataenv.records import Example, TaskItem

PREFIX = "gqa:"
SKILLS = ("verify", "query", "choose", "logical", "compare")
DESCRIPTIONS = {
    "verify": "yes/no questions about objects, attributes and relations",
    "query": "open questions: what, which, where",
    "choose": "pick one of two options named in the question",
    "logical": "and/or combinations of two facts",
    "compare": "compare two objects' attributes",
}


def load_rows(
    questions: str | Path, config: str | None = None, split: str = "testdev"
) -> list[dict[str, Any]]:
    """Question rows from a local ``.jsonl``/``.json`` file, or from a Hub dataset name with
    ``config`` and ``split`` (``"lmms-lab/GQA"``, ``"testdev_balanced_instructions"``)."""
    from datasets import load_dataset

    if Path(questions).exists():
        dataset = load_dataset("json", data_files=str(questions), split="train")
    else:
        dataset = load_dataset(str(questions), config, split=split)
    return [dict(row) for row in dataset]


def split_of(image_id: str) -> str:
    return "validation" if int(hashlib.sha256(image_id.encode()).hexdigest(), 16) % 2 else "test"


class GQADomain(VQADomain):
    """GQA questions over real photographs; ``images`` is the folder of image files."""

    name = "gqa"
    generate = Domain.generate  # no procedural engine for GQA's skills

    def __init__(
        self,
        questions: str | Path,
        images: str | Path,
        config: str | None = None,
        image_size: int = 64,
        text_to_image: Any = "procedural",
    ) -> None:
        super().__init__("procedural", image_size, text_to_image)
        self.images_dir = Path(images)
        self._skills = SKILLS
        self._splits: dict[str, list[TaskItem]] = {"validation": [], "test": []}
        for row in load_rows(questions, config):
            skill = (row.get("types") or {}).get("structural")
            if skill not in SKILLS:
                continue
            split = split_of(str(row["imageId"]))
            item = TaskItem(
                f"gqa/{split}/{row['id']}",
                row["question"],
                row["answer"],
                skill,
                PREFIX + str(row["imageId"]),
            )
            self._splits[split].append(item)
        for items in self._splits.values():
            items.sort(key=lambda i: SKILLS.index(i.skill))  # stable: file order per skill

    @property
    def answers(self) -> tuple[str, ...]:
        """The procedural answers plus every answer of the validation split."""
        seen = dict.fromkeys(scenes.ANSWERS)
        seen.update(dict.fromkeys(normalize_answer(i.answer) for i in self._splits["validation"]))
        return tuple(seen)

    def load_split(self, split: str) -> list[TaskItem]:
        return list(self._splits[split])

    def describe_skill(self, skill: str) -> str:
        return DESCRIPTIONS.get(skill, skill)

    def check_example(self, example: Example) -> str | None:
        if (example.image or "").startswith(PREFIX):
            return "GQA images are held out"
        return super().check_example(example)

    def load_image(self, ref: str) -> np.ndarray:
        if not ref.startswith(PREFIX):
            return super().load_image(ref)
        image_id = ref[len(PREFIX) :]
        for suffix in (".jpg", ".jpeg", ".png"):
            path = self.images_dir / f"{image_id}{suffix}"
            if path.exists():
                with Image.open(path) as image:
                    return to_array(image, self.image_size)
        raise ValueError(f"no image file for GQA image {image_id!r} in {self.images_dir}")
