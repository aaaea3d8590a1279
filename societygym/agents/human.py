"""A person plays in the terminal."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from gymnasium import spaces

from societygym.agents.base import BaseAgent


class HumanAgent(BaseAgent):
    """Shows the observation, reads the action from standard input.

    Images in observations are saved as PNG files and their paths printed. Text actions may
    span several lines: end them with an empty line (or type a single line for short answers
    when ``multiline=False``).
    """

    def __init__(
        self,
        multiline: bool = False,
        image_dir: str | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.multiline = multiline
        self.image_dir = Path(image_dir or tempfile.mkdtemp(prefix="societygym-play-"))
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._images = 0

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        self.show(observation)
        while True:
            try:
                return self._read_action()
            except ValueError as error:
                self._print(f"Invalid action: {error}. Try again.")

    def show(self, observation: Any) -> None:
        if isinstance(observation, dict):
            for key, value in observation.items():
                if isinstance(value, np.ndarray) and value.ndim == 3:
                    self._print(f"[{key}] saved to {self.save_image(value)}")
                else:
                    self._print(f"[{key}]\n{value}")
        else:
            self._print(str(observation))

    def save_image(self, image: np.ndarray) -> Path:
        from PIL import Image

        self.image_dir.mkdir(parents=True, exist_ok=True)
        self._images += 1
        path = self.image_dir / f"observation-{self._images:03d}.png"
        Image.fromarray(image.astype(np.uint8)).save(path)
        return path

    def _read_action(self) -> Any:
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            self._print(f"Your action (an integer in [{space.start}, {space.start + space.n})):")
            value = int(self._readline())
            if not space.contains(np.int64(value)):
                raise ValueError(f"{value} is not in the action space")
            return value
        if isinstance(space, spaces.Box):
            self._print(f"Your action ({space.shape} numbers separated by spaces):")
            values = np.array(self._readline().split(), dtype=space.dtype).reshape(space.shape)
            if not space.contains(values):
                raise ValueError("those numbers are outside the action space")
            return values
        if self.multiline:
            self._print("Your action (finish with an empty line):")
            lines = []
            while line := self._readline():
                lines.append(line)
            return "\n".join(lines)
        self._print("Your action:")
        return self._readline()

    def _readline(self) -> str:
        line = self.stdin.readline()
        if line == "":
            raise EOFError("standard input closed")
        return line.rstrip("\n")

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)
