"""Scan: cut a video into shots, find the clocks in sampled frames, and follow each clock through its shot."""
