"""Measurements of a video from any engine: identity, motion, background, prompt adherence."""

from subject2video.quality.measures import MouthMeter, blink_closure, pose_reached
from subject2video.quality.motion import RULES, Check, Signals, swings
from subject2video.quality.report import (
    SAME_PERSON,
    Report,
    evaluate,
    format_report,
    planned_pose,
    write_sheet,
)
from subject2video.quality.sheet import contact_sheet

__all__ = [
    "RULES",
    "SAME_PERSON",
    "Check",
    "MouthMeter",
    "Report",
    "Signals",
    "blink_closure",
    "contact_sheet",
    "evaluate",
    "format_report",
    "planned_pose",
    "pose_reached",
    "swings",
    "write_sheet",
]
