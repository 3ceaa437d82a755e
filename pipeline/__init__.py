"""clockweb's processing stages: framework-free functions over frozen dataclasses and numpy arrays.

One room per stage, in the order a video goes through them:

- `ingest/`: locators, the URL safety check, yt-dlp, probing a downloaded file;
- `scan/`: shots, the clock detectors (YOLO, NanoDet), linking detections into sightings, the scan itself;
- `read/`: reading the time on a clock (the hand reader, the display reader), fitting one time per sighting;
- `schedule/`: the day's plan of clips, its coverage, HLS for the live page;
- `search/`: keyframes, scene embeddings, tags;
- `synth/`: rendered clocks, real-photo labels, data sets, training and evaluation. The running
  app imports nothing from here.

Shared by all: `clock_time` (times as clocks show them), `geometry` (boxes, device choice),
`fonts`, `frames` (decoding) and `ffmpeg`.

Nothing in this package imports Django. Each third-party library has one adapter module here
and is imported nowhere else.
"""
