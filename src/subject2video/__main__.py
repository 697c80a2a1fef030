"""`python -m subject2video` is `s2v`."""

from subject2video.cli import main

main()
