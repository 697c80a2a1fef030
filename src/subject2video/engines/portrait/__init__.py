"""The portrait engine (CPU default): landmark-mesh animation of the subject of a face photo."""

from subject2video.engines.portrait.engine import PortraitEngine
from subject2video.engines.portrait.plan import MotionPlan, plan_motion

__all__ = ["MotionPlan", "PortraitEngine", "plan_motion"]
