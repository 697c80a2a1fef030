"""Imported by Python at start-up where this folder is on PYTHONPATH (`focus_classes.py
--lossless` puts it there for `--baseline`'s `s2v`): that process encodes every video losslessly
(x264 at crf 0; still 4:2:0), so that what is measured is the engine's frames, not the codec's
noise. Nothing else is changed."""

import subject2video.media.video as _video

_video.Mp4Writer.__init__.__kwdefaults__["crf"] = 0
