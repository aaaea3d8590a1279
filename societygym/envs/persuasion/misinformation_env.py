"""``Persuasion-Misinformation-v0``: a partner pushes a false answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from societygym.envs.persuasion import metrics
from societygym.envs.persuasion.dialogue import Dialogue, same_answer
from societygym.envs.persuasion.partner_dialogue_env import AGENT, PARTNER, PartnerDialogueEnv
from societygym.envs.persuasion.partners import check_style, make_partner
from societygym.envs.trivia.data import TriviaItem


class MisinformationEnv(PartnerDialogueEnv):
    """Misinformation: the partner asserts a false answer in one argument style.

    The agent answers first; then, for ``rounds`` rounds (default 3), the partner argues
    for a wrong answer drawn at reset (a distractor of the question) in ``style``
    (logical, credibility or emotional) and the agent replies. PBT measures this on Farm
    (Xu et al. 2024); here the questions are trivia and the false answers their distractors.

    ## Reward
    1 for a right final answer, else 0 (on the last step).

    ## Info
    As ``Persuasion-v0`` for the agent, plus ``misinformation`` (the false answer) and
    ``adopted`` (the agent's answer is it).

    ## Arguments
    ``families`` and ``difficulty`` (question difficulty) as in ``Persuasion-Balanced-v0``.

    ## Version history
    v0: first release.
    """

    def __init__(
        self,
        source: str = "embedded",
        split: str = "test",
        questions: Sequence[TriviaItem] | None = None,
        partner: Any = "scripted",
        style: str = "logical",
        rounds: int = 3,
        extractor: Any = "rule",
        max_utterance_length: int = 1000,
        render_mode: str | None = None,
        families: Sequence[str] | None = None,
        difficulty: int | None = None,
    ) -> None:
        super().__init__(
            source,
            split,
            questions,
            make_partner(partner, check_style(style)),
            extractor,
            1 + rounds,
            max_utterance_length,
            render_mode,
            families,
            difficulty,
        )

    def _setup(self, seed: int | None, options: dict | None) -> Dialogue:
        item = self._pick_item(options)
        self._target = self._wrong_answer(item)
        return Dialogue(item, (AGENT, PARTNER))

    def _extra_info(self) -> dict[str, Any]:
        answer = self._dialogue.answer(AGENT)
        return {
            "misinformation": self._target,
            "adopted": same_answer(answer, self._target, self._dialogue.item.answers),
        }

    @staticmethod
    def summarize(infos: Sequence[Mapping[str, Any]], out_dir: Any = None) -> dict[str, float]:
        return metrics.misinformation_report(infos)
