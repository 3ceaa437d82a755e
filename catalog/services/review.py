"""Review: curators confirm and correct readings, and export their corrections."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog import selectors
from catalog.models import ClockSighting, Snippet, TimeReading
from catalog.services.cut import _snippet_cut
from catalog.services.work import jpeg_write
from pipeline.clock_time import ClockTime, Meridiem
from pipeline.ingest.probe import probe_video

logger = logging.getLogger(__name__)


@transaction.atomic
def readings_verify(*, readings: QuerySet[TimeReading], user: AbstractBaseUser) -> int:
    """Mark readings as checked by a curator; their time stays as it is."""
    return readings.update(verified_by=user, verified_at=timezone.now(), status=TimeReading.Status.ACCEPTED)


class ReviewRefused(ValueError):
    """The review can't be applied as asked; the message says why."""


@dataclass(frozen=True)
class ReviewOutcome:
    reading: TimeReading | None  # None when the curator said there is no clock to read
    snippet: Snippet | None  # the clip now placed at the reading's minute, if there is one
    cut_error: str = ""  # set when the clip could not be cut (the reading is saved all the same)


def sighting_review(*, sighting: ClockSighting, user: AbstractBaseUser, entry: ClockTime | None = None,
                    entry_says_meridiem: bool = False, not_a_clock: bool = False) -> ReviewOutcome:  # fmt: skip
    """Record what a curator says a sighting's clock shows at its review moment
    (selectors.review_crop_second): `entry` (None: the proposal is right), or that it is no clock
    at all. The reading becomes verified and accepted, its clip moves to the minute at once, and a
    sighting that had no reading gets one and its clip. Its earlier proposal is replaced."""
    if not not_a_clock and entry is None and not sighting.readings.exists():
        raise ReviewRefused("this clock has no proposed time to confirm; type the time it shows")
    now = timezone.now()
    with transaction.atomic():
        sighting = ClockSighting.objects.select_for_update().select_related("video").get(pk=sighting.pk)
        readings = list(sighting.readings.order_by("-confidence"))
        ClockSighting.objects.filter(pk=sighting.pk).update(reviewed_by=user, reviewed_at=now)
        if not_a_clock:
            TimeReading.objects.filter(sighting=sighting).update(
                status=TimeReading.Status.REJECTED, verified_by=user, verified_at=now
            )
            Snippet.objects.filter(reading__sighting=sighting).update(status=Snippet.Status.HIDDEN, updated_at=now)
            reading, recut = None, False
        else:
            reading, recut = _reviewed_reading(sighting, readings, user, now, entry, entry_says_meridiem)
            # The other proposals for this clock are wrong if this one is right.
            TimeReading.objects.filter(sighting=sighting).exclude(pk=reading.pk).update(
                status=TimeReading.Status.REJECTED
            )
            Snippet.objects.filter(reading__sighting=sighting).exclude(reading=reading).update(
                status=Snippet.Status.HIDDEN, updated_at=now
            )
            snippet = Snippet.objects.filter(reading=reading).first()
            if snippet is not None and not recut:
                snippet.minute_of_day = reading.clock_time.minutes_of_day[0]
                snippet.status = Snippet.Status.READY if snippet.file else snippet.status
                snippet.save(update_fields=["minute_of_day", "status", "updated_at"])
    transaction.on_commit(selectors.schedule_reset)
    if reading is None:
        selectors.schedule_reset()
        return ReviewOutcome(None, None)
    snippet = Snippet.objects.filter(reading=reading).first()
    cut_error = ""
    if recut or snippet is None or not snippet.file:
        # The clock's minute starts somewhere else now: cut its clip again (a few seconds of ffmpeg).
        try:
            source = Path(settings.MEDIA_ROOT) / sighting.video.file.name
            snippet = _snippet_cut(reading=reading, video=sighting.video, source=source, probe=probe_video(source))
        except Exception as error:  # the correction stands; the clip can be cut again by `process`
            cut_error = f"the reading is saved, but its clip could not be cut: {error}"
    selectors.schedule_reset()
    return ReviewOutcome(reading, snippet, cut_error)


def _reviewed_reading(sighting: ClockSighting, readings: list[TimeReading], user: AbstractBaseUser, now: datetime,
                      entry: ClockTime | None, entry_says_meridiem: bool) -> tuple[TimeReading, bool]:  # fmt: skip
    """The sighting's reading after review, saved, and whether its clip must be cut again."""
    proposal = readings[0] if readings else None
    crop_second = selectors.review_crop_second(sighting, proposal)
    if proposal is not None and entry is None:
        proposal.status, proposal.verified_by, proposal.verified_at = TimeReading.Status.ACCEPTED, user, now
        proposal.save(update_fields=["status", "verified_by", "verified_at"])
        return proposal, False
    meridiem = entry.meridiem
    if not entry_says_meridiem and proposal is not None:
        meridiem = Meridiem(proposal.meridiem)  # "10:42" alone keeps what the reading knew of AM/PM
    # The typed time is what the clock shows at the crop: HH:MM:00 about half a minute before.
    shown_at = crop_second - 30
    fields = {"hour": entry.hour, "minute": entry.minute, "meridiem": meridiem.value, "confidence": 1.0,
              "method": TimeReading.Method.MANUAL, "status": TimeReading.Status.ACCEPTED,
              "shown_at_seconds": shown_at, "verified_by": user, "verified_at": now}  # fmt: skip
    if proposal is None:
        return TimeReading.objects.create(sighting=sighting, **fields), True
    recut = abs(proposal.shown_at_seconds - shown_at) > 1.0
    for name, value in fields.items():
        setattr(proposal, name, value)
    proposal.save()
    return proposal, recut


def review_images(*, sighting: ClockSighting, crop_second: float) -> dict[str, Path]:
    """JPEGs for the review page, made once per sighting and kept under MEDIA_ROOT/review/: the
    clock's crop at `crop_second`, and the whole frame at the sighting's start, middle and end
    with the clock outlined."""
    import cv2

    from pipeline.scan.stage import ScanOptions
    from pipeline.search.keyframes import frames_near

    folder = Path(settings.MEDIA_ROOT) / "review" / str(sighting.pk)
    names = {"crop": crop_second, "start": sighting.start_seconds,
             "middle": (sighting.start_seconds + sighting.end_seconds) / 2, "end": sighting.end_seconds}  # fmt: skip
    paths = {name: folder / f"{name}.jpg" for name in names}
    if all(path.exists() for path in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(settings.MEDIA_ROOT) / sighting.video.file.name
    # Boxes are in the pixels of the frames the scan saw: decode at the scan's size.
    frames = dict(frames_near(source, sorted(set(names.values())), max_side=ScanOptions().max_side))
    for name, second in names.items():
        image = frames[second]
        x, y, width, height = sighting_box_at(sighting, second)
        if name == "crop":
            pad = 0.25 * max(width, height)
            top, left = max(0, round(y - pad)), max(0, round(x - pad))
            image = image[top : round(y + height + pad), left : round(x + width + pad)]
            image = cv2.resize(image, (240, round(240 * image.shape[0] / max(image.shape[1], 1))))
        else:
            image = image.copy()
            cv2.rectangle(image, (round(x), round(y)), (round(x + width), round(y + height)), (242, 193, 78), 2)
            image = cv2.resize(image, (320, round(320 * image.shape[0] / image.shape[1])), interpolation=cv2.INTER_AREA)
        jpeg_write(paths[name], image, 85)
    return paths


def sighting_box_at(sighting: ClockSighting, second: float) -> tuple[float, float, float, float]:
    """The clock's box (x, y, width, height) in the detection nearest in time to `second`."""
    if not sighting.boxes:
        raise ValueError(f"sighting #{sighting.pk} has no boxes")
    nearest = min(sighting.boxes, key=lambda box: abs(box[0] - second))
    return nearest[1], nearest[2], nearest[3], nearest[4]


def corrections_export(*, out: Path) -> int:
    """Write the readings curators typed or confirmed as a labelled set in `eval_reader`'s format
    (and `train_reader`'s): one frame per clock, at the moment the label describes, and
    labels.csv with file, hour, minute, the clock's box and kind. Returns how many."""
    import cv2

    from pipeline.labels import LabelRow, write_labels
    from pipeline.scan.stage import ScanOptions
    from pipeline.search.keyframes import frames_near

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    by_video: dict[int, list[TimeReading]] = {}
    for reading in selectors.reviewed_readings():
        by_video.setdefault(reading.sighting.video_id, []).append(reading)
    for readings in by_video.values():
        video = readings[0].sighting.video
        moments = {}
        for reading in readings:
            # A frame in which the clock shows exactly the labelled minute: within the minute
            # after "shown at", inside the sighting.
            sighting = reading.sighting
            second = min(max(reading.shown_at_seconds + 30, sighting.start_seconds), sighting.end_seconds)
            minutes_on = int((second - reading.shown_at_seconds) // 60)
            moments[reading.pk] = (second, (reading.hour * 60 + reading.minute + minutes_on) % 720)
        source = Path(settings.MEDIA_ROOT) / video.file.name
        frames = dict(frames_near(source, sorted({second for second, _ in moments.values()}),
                                  max_side=ScanOptions().max_side))  # fmt: skip
        for reading in readings:
            second, shown = moments[reading.pk]
            name = f"video{video.pk}-reading{reading.pk}.jpg"
            image = cv2.cvtColor(frames[second], cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(out / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            box = tuple(round(value) for value in sighting_box_at(reading.sighting, second))
            hour, minute = divmod(shown, 60)
            rows.append(LabelRow(name, hour or 12, minute, box, reading.sighting.kind))
    write_labels(out, rows)
    return len(rows)
