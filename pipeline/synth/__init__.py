"""Synth: rendered clocks, real-photo labels, data sets, training and evaluation (never imported by the running app)."""
