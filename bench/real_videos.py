"""The whole chain on real clocks: short 720p videos made from real clock photographs of the
validation split (a clockless real scene, the clock photograph pushed in, another scene; see
pipeline/synth/photo_videos), ingested as local files and run through `manage.py process` on a
private embedded database, with the models in settings. Prints one JSON object: how many videos
got a clip at the right minute (either half of the day: a dial says neither AM nor PM), how many
got a clip at a wrong one, and each video's outcome.

Target (issue 13): 12 of 12. `--oblique 0.6` narrows each photograph first, as a dial seen about
53 degrees from the side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
SHARED = ROOT.parent / "shared" / "data"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.server import manage  # noqa: E402

REPORT = """
import json
from catalog.models import Snippet, Video
videos = []
for video in Video.objects.order_by("id"):
    minutes = sorted({s.minute_of_day for s in Snippet.objects.filter(video=video)})
    # What the scan saw, so a video without a clip says why: no sighting, or what was read and
    # how sure, or why the frames were rejected.
    sightings = [
        {"seconds": [round(sighting.start_seconds, 1), round(sighting.end_seconds, 1)], "kind": sighting.kind,
         "rejection": sighting.rejection,
         "readings": [f"{r.hour}:{r.minute:02d} {r.confidence:.2f} {r.status}" for r in sighting.readings.all()]}
        for sighting in video.sightings.prefetch_related("readings")
    ]
    videos.append({"file": video.title or video.external_id, "status": video.status, "minutes": minutes,
                   "error": video.error[:200], "sightings": sightings})
print(json.dumps(videos))
"""


def pick_clocks(count: int, seed: int) -> list:
    from pipeline.synth.real_clocks import real_clocks

    held_out = [clock for clock in real_clocks(SHARED / "real-clocks") if clock.split == "validation"]
    rng = np.random.default_rng(seed)
    return [held_out[index] for index in sorted(rng.choice(len(held_out), size=count, replace=False))]


def seen_from_the_side(photo: np.ndarray, box: tuple[int, int, int, int] | None,
                       ratio: float) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:  # fmt: skip
    """The photograph narrowed to `ratio` of its width (a wall clock seen from the side is
    foreshortened across), and the clock's box with it."""
    if ratio == 1.0:
        return photo, box
    height, width = photo.shape[:2]
    narrowed = cv2.resize(photo, (max(1, round(width * ratio)), height), interpolation=cv2.INTER_AREA)
    if box is None:
        return narrowed, None
    x, y, w, h = box
    return narrowed, (round(x * ratio), y, max(1, round(w * ratio)), h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--oblique", type=float, default=1.0,
                        help="narrow each photograph to this share of its width (a side view)")  # fmt: skip
    args = parser.parse_args()
    if not 0.2 <= args.oblique <= 1.0:
        parser.error("--oblique must lie between 0.2 and 1")

    from pipeline.images import load_rgb
    from pipeline.synth.hand_training import background_files
    from pipeline.synth.photo_videos import photo_video

    clocks = pick_clocks(args.count, args.seed)
    scenes = background_files(SHARED / "backgrounds-coco", validation=True)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="clockweb-real-videos-") as scratch:
        folder = Path(scratch) / "videos"
        folder.mkdir()
        truth = {}
        for index, clock in enumerate(clocks):
            before, after = (load_rgb(scenes[int(i)]) for i in rng.choice(len(scenes), size=2, replace=False))
            name = f"real-{index:02d}"
            photo, box = seen_from_the_side(load_rgb(clock.path), clock.box, args.oblique)
            photo_video(folder / f"{name}.mp4", photo, before, after, box=box)
            truth[name] = {"time": f"{clock.hour or 12}:{clock.minute:02d}", "minute": clock.hour * 60 + clock.minute,
                           "photo": f"{clock.source}/{clock.path.name}"}  # fmt: skip
        var_dir = str(Path(scratch) / "var")
        quiet = {"stdout": subprocess.DEVNULL}
        for command in (("migrate", "--noinput"), ("ingest", str(folder)), ("process", "--all", "--no-embed")):
            if manage(var_dir, *command, **quiet).wait() != 0:
                raise SystemExit(f"manage.py {' '.join(command)} failed")
        output = manage(var_dir, "shell", "-c", REPORT, stdout=subprocess.PIPE, text=True).communicate()[0]
    videos = json.loads(output.strip().splitlines()[-1])
    right = wrong = 0
    outcomes = []
    for video in videos:
        name = Path(video["file"]).stem
        expected = truth.get(name) or next((t for key, t in truth.items() if key in video["file"]), None)
        if expected is None:
            continue
        on_dial = {minute % 720 for minute in video["minutes"]}
        placed = any(min(abs(m - expected["minute"]) % 720, 720 - abs(m - expected["minute"]) % 720) <= 1
                     for m in on_dial)  # fmt: skip
        right += placed
        wrong += bool(on_dial) and not placed
        clips_at = [f"{m // 60:02d}:{m % 60:02d}" for m in video["minutes"]]
        outcomes.append({"video": name, **expected, "clips_at": clips_at, "right": placed, "status": video["status"],
                         "error": video["error"], "sightings": video["sightings"]})  # fmt: skip
    print(json.dumps({"benchmark": "real_videos", "videos": len(outcomes), "right_minute": right,
                      "wrong_minute_only": wrong, "target": f"{len(outcomes)} of {len(outcomes)}",
                      "outcomes": outcomes}))  # fmt: skip


if __name__ == "__main__":
    main()
