"""`manage.py read_clock IMAGE... [--bbox x,y,w,h] [--json] [--debug OUT.png]`: read the time on clock images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError

from catalog import ml
from pipeline.geometry import Box
from pipeline.images import UnreadableImage, load_rgb
from pipeline.scan.still import read_in_boxes, read_still_clocks


def parse_bbox(text: str) -> Box:
    try:
        x, y, w, h = (float(part) for part in text.split(","))
    except ValueError:
        raise CommandError(f"--bbox must be x,y,w,h in pixels, not {text!r}") from None
    if w <= 0 or h <= 0:
        raise CommandError("--bbox width and height must be positive")
    return Box(x, y, w, h)


def image_argument(path: Path) -> np.ndarray:
    """An image a command was given (pipeline.images.load_rgb), or a CommandError naming the file."""
    try:
        return load_rgb(path)
    except UnreadableImage as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Read the time on clock images. Without --bbox the detector finds the clocks; a picture that is the clock "
        "itself, or whose clocks read less surely than the whole, is read whole."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
        parser.add_argument("--bbox", help="x,y,w,h of the clock in the image (pixels)")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument("--debug", type=Path, metavar="OUT.png",
                            help="write the crop the reader read, with the hands it found drawn on it (with several "
                                 "clocks or images, OUT-1.png, OUT-2.png, ...)")  # fmt: skip

    def handle(self, *args: object, images: list[Path], bbox: str | None, **options: object) -> None:
        try:
            reader = ml.clock_reader()
        except ml.ScanUnavailable as error:
            raise CommandError(str(error)) from None
        given = parse_bbox(bbox) if bbox else None
        debug: Path | None = options["debug"]
        drawn = 0
        for path in images:
            image = image_argument(path)
            if given is not None:
                boxes: list[Box | None] = [given]
                readings = read_in_boxes(reader.read_clocks, [image], [given])
            else:
                stills = read_still_clocks(self._detector().find, reader.read_clocks, image)
                boxes, readings = [still.box for still in stills], [still.reading for still in stills]
            for box, reading in zip(boxes, readings, strict=True):
                self._report(path, box, reading, as_json=options["json"])
                if debug is not None:
                    drawn += 1
                    out = debug if drawn == 1 else debug.with_name(f"{debug.stem}-{drawn}{debug.suffix}")
                    self._debug(reader, image, box, reading, out)

    def _detector(self) -> object:
        """The scan's detector, loaded on the first image without a --bbox; says which one, on stderr."""
        if not hasattr(self, "detector"):
            try:
                self.detector, choice = ml.clock_detector()
            except ml.ScanUnavailable as error:
                raise CommandError(str(error)) from None
            self.stderr.write(choice.describe())
        return self.detector

    def _debug(self, reader: object, image: object, box: Box | None, reading: object, out: Path) -> None:
        from pipeline.read.debug import draw_reading

        (crop,), _ = reader.face_on(reader.crops([image], [box]))
        # The heads as the reading combined them (upright and turned views).
        heads = reader.hand_probabilities([crop]) if reader.hands else {}
        label = f"{reading} {reading.confidence:.2f} {reading.method}"
        picture = draw_reading(crop, reading.hour, reading.minute, label, heads.get("minute", [None])[0],
                               heads.get("hour_hand", [None])[0], heads.get("up", [None])[0],
                               heads.get("squeeze", [None])[0])  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
            raise CommandError(f"could not write {out}")
        self.stderr.write(f"debug picture: {out}")

    def _report(self, path: Path, box: Box | None, reading: object, *, as_json: bool) -> None:
        record = {
            "image": str(path),
            "time": str(reading),
            "hour": reading.hour,
            "minute": reading.minute,
            "meridiem": reading.meridiem,
            "confidence": round(reading.confidence, 4),
            "kind": reading.kind,
            "method": reading.method,
            "bbox": None if box is None else [round(v) for v in (box.x, box.y, box.width, box.height)],
        }
        if as_json:
            self.stdout.write(json.dumps(record))
        else:
            where = "" if box is None else f" at {','.join(str(v) for v in record['bbox'])}"
            self.stdout.write(f"{path}{where}: {record['time']} ({reading.kind}, {reading.method}, "
                              f"confidence {reading.confidence:.2f})")  # fmt: skip
