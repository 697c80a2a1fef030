"""Measurements of a video from any engine: identity, motion, background, prompt adherence."""

from subject2video.quality.motion import RULES, Check, Signals, swings
from subject2video.quality.report import SAME_PERSON, Report, evaluate, format_report

__all__ = [
    "RULES",
    "SAME_PERSON",
    "Check",
    "Report",
    "Signals",
    "evaluate",
    "format_report",
    "swings",
]
