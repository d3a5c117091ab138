"""Frames: sources (synthetic heads, OpenCV captures), image processing, encode-once streaming."""
