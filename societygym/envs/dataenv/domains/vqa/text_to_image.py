"""Text-to-image backends that turn a teacher's image description into pixels.

- ``ProceduralBackend`` (the embedded default): parses the description into a ``Scene`` and
  draws it exactly (``scenes``), so the answers the description implies are true of the
  image, and it runs thousands of images per second on a CPU.
- ``DiffusersBackend``: any ``diffusers`` text-to-image pipeline id or local directory
  (few-step pipelines such as ``stabilityai/sdxl-turbo`` on a GPU, as the original used),
  seeded per description so the same description gives the same image. Its images are
  *not* guaranteed to show what the description says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from societygym.envs.dataenv.domains.vqa import scenes
from societygym.envs.dataenv.domains.vqa.images import to_array


class ProceduralBackend:
    """Descriptions drawn by the scene renderer; raises ``scenes.SceneError`` when a
    description names nothing drawable."""

    name = "procedural"
    exact = True

    def __call__(self, descriptions: Sequence[str], size: int) -> list[np.ndarray]:
        return [scenes.render_array(scenes.parse_description(d), size) for d in descriptions]


def description_seed(description: str) -> int:
    return int(hashlib.sha256(description.encode()).hexdigest()[:8], 16)


class DiffusersBackend:
    """A ``diffusers`` pipeline (``AutoPipelineForText2Image``), loaded on first use.

    ``pipeline`` is a hub id or a local directory; ``pipe`` an already built pipeline (tests
    pass a tiny random one). Defaults follow the original's SDXL-Turbo settings: 4 steps,
    guidance 0, fp16 on CUDA.
    """

    name = "diffusers"
    exact = False

    def __init__(
        self,
        pipeline: str = "stabilityai/sdxl-turbo",
        steps: int = 4,
        guidance_scale: float = 0.0,
        resolution: int | None = 512,
        batch_size: int = 8,
        device: str | None = None,
        pipe: Any = None,
    ) -> None:
        self.pipeline = pipeline
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.resolution = resolution
        self.batch_size = int(batch_size)
        self.device = device
        self._pipe = pipe

    @property
    def pipe(self) -> Any:
        if self._pipe is None:
            import torch
            from diffusers import AutoPipelineForText2Image

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            pipe = AutoPipelineForText2Image.from_pretrained(self.pipeline, dtype=dtype)
            pipe.set_progress_bar_config(disable=True)
            self._pipe = pipe.to(device)
        return self._pipe

    def __call__(self, descriptions: Sequence[str], size: int) -> list[np.ndarray]:
        import torch

        pipe = self.pipe
        out: list[np.ndarray] = []
        for start in range(0, len(descriptions), self.batch_size):
            chunk = list(descriptions[start : start + self.batch_size])
            generators = [
                torch.Generator(pipe.device).manual_seed(description_seed(d)) for d in chunk
            ]
            extra = {} if self.resolution is None else {"height": self.resolution}
            if self.resolution is not None:
                extra["width"] = self.resolution
            images = pipe(
                prompt=chunk,
                num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale,
                generator=generators,
                output_type="pil",
                **extra,
            ).images
            out += [to_array(image, size) for image in images]
        return out


def make_backend(spec: Any = "procedural") -> Any:
    """``"procedural"``, ``"diffusers"`` (SDXL-Turbo), ``"diffusers:<pipeline id or dir>"``,
    or a backend object (any callable ``(descriptions, size) -> arrays``)."""
    if not isinstance(spec, str):
        return spec
    if spec == "procedural":
        return ProceduralBackend()
    if spec == "diffusers" or spec.startswith("diffusers:"):
        return DiffusersBackend(spec.partition(":")[2] or "stabilityai/sdxl-turbo")
    raise ValueError(f"unknown text-to-image backend {spec!r}: 'procedural' or 'diffusers:<id>'")
