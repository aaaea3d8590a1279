"""easy-VQA (MIT, the ``easy-vqa`` PyPI package): 64x64 images of one coloured shape with
shape, colour and yes/no questions; the VQA domain's embedded real evaluation data.

Images are named by reference ``easy_vqa:<part>/<id>`` (part ``train`` or ``test``), which
``load_image`` resolves from the installed package.
"""

from __future__ import annotations

from functools import cache

from PIL import Image

PREFIX = "easy_vqa:"
PARTS = ("train", "test")


def _package():
    try:
        import easy_vqa
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the VQA domain's real data needs the easy-vqa package: pip install easy-vqa==1.0"
        ) from error
    return easy_vqa


@cache
def questions(part: str) -> tuple[tuple[str, str, int], ...]:
    """``(question, answer, image id)`` of ``part``, in the package's order."""
    if part not in PARTS:
        raise ValueError(f"easy-VQA has parts {PARTS}, not {part!r}")
    package = _package()
    texts, answers, ids = (
        package.get_train_questions if part == "train" else package.get_test_questions
    )()
    return tuple(zip(texts, answers, map(int, ids), strict=True))


@cache
def _paths(part: str) -> dict[int, str]:
    package = _package()
    return (package.get_train_image_paths if part == "train" else package.get_test_image_paths)()


def reference(part: str, image_id: int) -> str:
    return f"{PREFIX}{part}/{image_id}"


def parse_reference(ref: str) -> tuple[str, int]:
    """``(part, id)`` of a reference; ValueError when it names no easy-VQA image."""
    part, _, number = ref.removeprefix(PREFIX).partition("/")
    if part not in PARTS or not number.isdigit() or int(number) not in _paths(part):
        raise ValueError(f"{ref!r} is not an easy-VQA image (easy_vqa:train/<id> or test/<id>)")
    return part, int(number)


def load_image(ref: str) -> Image.Image:
    part, image_id = parse_reference(ref)
    with Image.open(_paths(part)[image_id]) as image:
        return image.convert("RGB")
