"""Trivia calibration: questions (``data``) and answer handling (``answers``)."""
