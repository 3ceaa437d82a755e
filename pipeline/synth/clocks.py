"""Synthetic clocks: analog faces and digital displays at known times, and scenes that contain them.

Rendered clocks for training and tests: the detector trains on scenes drawn here, the reader on
these beside real photographs (pipeline/synth/real_clocks.py), and the tests read clocks whose
time they know. It aims at variety rather than beauty: many face designs (Arabic,
Roman and no numerals; plain, tapered and spade hands; with and without second hands),
seven-segment LCD and LED displays in 12- and 24-hour form, and the damage real footage does
(perspective, blur, glare and reflections, dark scenes, grain, low resolution, occlusion).

Everything is drawn from a numpy Generator, so a seed reproduces a data set exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.fonts import font_paths
from pipeline.geometry import Box
from pipeline.read.display_reader import crop_display

RGB = tuple[int, int, int]
# Part of the name of every cached rendered data set: raise it whenever what this module draws,
# or how samples are labelled, changes, so that training never reuses a stale cache.
RENDER_VERSION = 2
_SUPERSAMPLE = 3
_ROMAN = ["XII", "I", "II", "III", "IIII", "V", "VI", "VII", "VIII", "IX", "X", "XI"]
_ROMAN_IV = ["XII", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"]


@dataclass(frozen=True)
class DrawnTime:
    """The time a rendered clock is drawn at: hour 0-23, minute 0-59, second 0-59 (not
    pipeline.clock_time.ClockTime, the time a reading names: hour 1-12 and AM/PM)."""

    hour: int
    minute: int
    second: int = 0

    @property
    def hour12(self) -> int:
        return self.hour % 12 or 12


@dataclass(frozen=True)
class RenderedClock:
    """A clock drawn on a transparent background (RGBA), and what it shows."""

    image: np.ndarray
    time: DrawnTime
    kind: str  # "analog" | "digital"
    shows_meridiem: bool = False
    # A digital display that counts hours 0-23 (a 12-hour one writes 13:05 as 1:05).
    twenty_four_hour: bool = False


# -- colours and fonts ---------------------------------------------------------------------


def _color(rng: np.random.Generator, light: bool | None = None) -> RGB:
    if light is None:
        light = bool(rng.random() < 0.5)
    low, high = (170, 256) if light else (0, 90)
    base = int(rng.integers(low, high))
    tint = rng.integers(-25, 26, size=3)
    return tuple(int(np.clip(base + t, 0, 255)) for t in tint)  # type: ignore[return-value]


def _contrasting(rng: np.random.Generator, background: RGB) -> RGB:
    return _color(rng, light=sum(background) < 3 * 128)


def _font(rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont:
    paths = font_paths()
    return ImageFont.truetype(paths[int(rng.integers(len(paths)))], max(6, size))


# -- analog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalogStyle:
    face: RGB
    rim: RGB
    rim_width: float
    ink: RGB
    hands: RGB
    numerals: str  # "arabic" | "roman" | "roman_iv" | "none" | "quarters"
    ticks: str  # "minutes" | "hours" | "none"
    hand_shape: str  # "line" | "taper" | "spade"
    hour_length: float
    minute_length: float
    hand_width: float
    second_hand: str  # "none" | "thin" | "red"
    square_case: bool
    cap: bool


def random_analog_style(rng: np.random.Generator) -> AnalogStyle:
    face = _color(rng, light=bool(rng.random() < 0.75))
    ink = _contrasting(rng, face)
    return AnalogStyle(
        face=face,
        rim=_color(rng),
        rim_width=float(rng.uniform(0.0, 0.12)),
        ink=ink,
        hands=ink if rng.random() < 0.7 else _contrasting(rng, face),
        numerals=str(rng.choice(["arabic", "roman", "roman_iv", "none", "quarters"], p=[0.35, 0.2, 0.1, 0.25, 0.1])),
        ticks=str(rng.choice(["minutes", "hours", "none"], p=[0.5, 0.35, 0.15])),
        hand_shape=str(rng.choice(["line", "taper", "spade"], p=[0.4, 0.45, 0.15])),
        hour_length=float(rng.uniform(0.38, 0.55)),
        minute_length=float(rng.uniform(0.68, 0.88)),
        hand_width=float(rng.uniform(0.025, 0.06)),
        second_hand=str(rng.choice(["none", "thin", "red"], p=[0.45, 0.35, 0.2])),
        square_case=bool(rng.random() < 0.12),
        cap=bool(rng.random() < 0.6),
    )


def _hand_polygon(cx: float, cy: float, angle: float, length: float, width: float, shape: str) -> list[tuple]:
    """A hand pointing at `angle` (radians, clockwise from 12), as polygon points."""
    dx, dy = math.sin(angle), -math.cos(angle)
    px, py = -dy, dx  # perpendicular
    tail = 0.12 * length
    base = (cx - dx * tail, cy - dy * tail)
    tip = (cx + dx * length, cy + dy * length)
    if shape == "line":
        w = width / 2
        return [(base[0] + px * w, base[1] + py * w), (tip[0] + px * w, tip[1] + py * w),
                (tip[0] - px * w, tip[1] - py * w), (base[0] - px * w, base[1] - py * w)]  # fmt: skip
    if shape == "taper":
        w = width * 0.75
        return [(base[0] + px * w, base[1] + py * w), tip, (base[0] - px * w, base[1] - py * w)]
    # spade: a thin shaft with a wide diamond near the tip
    w, mid = width / 3, 0.72
    joint = (cx + dx * length * mid, cy + dy * length * mid)
    wide = width * 1.3
    return [(base[0] + px * w, base[1] + py * w), (joint[0] + px * wide, joint[1] + py * wide), tip,
            (joint[0] - px * wide, joint[1] - py * wide), (base[0] - px * w, base[1] - py * w)]  # fmt: skip


def draw_analog(time: DrawnTime, style: AnalogStyle, size: int, rng: np.random.Generator) -> RenderedClock:
    big = size * _SUPERSAMPLE
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    c = big / 2
    r = big / 2 - 1
    case = [c - r, c - r, c + r, c + r]
    if style.square_case:
        draw.rounded_rectangle(case, radius=int(r * 0.15), fill=(*style.rim, 255))
    else:
        draw.ellipse(case, fill=(*style.rim, 255))
    inner = r * (1 - style.rim_width)
    draw.ellipse([c - inner, c - inner, c + inner, c + inner], fill=(*style.face, 255))

    if style.ticks != "none":
        for i in range(60):
            if style.ticks == "hours" and i % 5:
                continue
            major = i % 5 == 0
            a = 2 * math.pi * i / 60
            outer_r, inner_r = inner * 0.95, inner * (0.83 if major else 0.9)
            width = max(1, int(inner * (0.025 if major else 0.01)))
            draw.line(
                [
                    (c + math.sin(a) * inner_r, c - math.cos(a) * inner_r),
                    (c + math.sin(a) * outer_r, c - math.cos(a) * outer_r),
                ],
                fill=(*style.ink, 255),
                width=width,
            )
    if style.numerals != "none":
        font = _font(rng, int(inner * (0.2 if style.numerals.startswith("roman") else 0.24)))
        labels = {"arabic": [str(i or 12) for i in range(12)], "roman": _ROMAN, "roman_iv": _ROMAN_IV}.get(
            style.numerals, ["12", "", "", "3", "", "", "6", "", "", "9", "", ""]
        )
        for i, label in enumerate(labels):
            if not label:
                continue
            a = 2 * math.pi * i / 12
            nr = inner * 0.68
            draw.text(
                (c + math.sin(a) * nr, c - math.cos(a) * nr), label, fill=(*style.ink, 255), font=font, anchor="mm"
            )

    hour_angle = 2 * math.pi * ((time.hour % 12) + time.minute / 60 + time.second / 3600) / 12
    minute_angle = 2 * math.pi * (time.minute + time.second / 60) / 60
    width = inner * style.hand_width
    draw.polygon(_hand_polygon(c, c, hour_angle, inner * style.hour_length, width * 1.3, style.hand_shape),
                 fill=(*style.hands, 255))  # fmt: skip
    draw.polygon(_hand_polygon(c, c, minute_angle, inner * style.minute_length, width, style.hand_shape),
                 fill=(*style.hands, 255))  # fmt: skip
    if style.second_hand != "none":
        color = (200, 30, 30) if style.second_hand == "red" else style.hands
        second_angle = 2 * math.pi * time.second / 60
        draw.polygon(_hand_polygon(c, c, second_angle, inner * 0.9, max(2.0, width * 0.25), "line"),
                     fill=(*color, 255))  # fmt: skip
    if style.cap:
        cap = inner * 0.05
        draw.ellipse([c - cap, c - cap, c + cap, c + cap], fill=(*style.hands, 255))
    image = np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))
    return RenderedClock(image=image, time=time, kind="analog")


# -- digital -------------------------------------------------------------------------------

# Segments a-g: top, top-right, bottom-right, bottom, bottom-left, top-left, middle.
_SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg",
    "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg", " ": "",
}  # fmt: skip


@dataclass(frozen=True)
class DigitalStyle:
    background: RGB
    lit: RGB
    ghost: float  # how visible unlit segments are, 0-0.3
    twelve_hour: bool
    meridiem_marker: bool
    leading_zero: bool
    slant: float
    thickness: float
    bezel: RGB
    bezel_width: float


def random_digital_style(rng: np.random.Generator) -> DigitalStyle:
    kind = rng.choice(["lcd", "red_led", "green_led", "blue_led", "white"])
    background, lit = {
        "lcd": ((int(rng.integers(140, 200)), int(rng.integers(160, 210)), int(rng.integers(120, 170))), (20, 30, 25)),
        "red_led": ((int(rng.integers(0, 40)),) * 3, (255, int(rng.integers(20, 70)), 30)),
        "green_led": ((int(rng.integers(0, 40)),) * 3, (60, 255, int(rng.integers(60, 120)))),
        "blue_led": ((int(rng.integers(0, 40)),) * 3, (80, 160, 255)),
        "white": ((int(rng.integers(0, 50)),) * 3, (235, 235, 235)),
    }[str(kind)]
    twelve = bool(rng.random() < 0.5)
    return DigitalStyle(
        background=background,  # type: ignore[arg-type]
        lit=lit,  # type: ignore[arg-type]
        ghost=float(rng.uniform(0.0, 0.25)),
        twelve_hour=twelve,
        meridiem_marker=twelve and bool(rng.random() < 0.7),
        leading_zero=(not twelve) or bool(rng.random() < 0.3),
        slant=float(rng.uniform(0.0, 0.18)),
        thickness=float(rng.uniform(0.12, 0.2)),
        bezel=_color(rng, light=False),
        bezel_width=float(rng.uniform(0.0, 0.1)),
    )


def _segment_polygons(x: float, y: float, w: float, h: float, t: float, slant: float) -> dict[str, list[tuple]]:
    def p(u: float, v: float) -> tuple[float, float]:
        return (x + u * w + (1 - v) * slant * w, y + v * h)

    tw, th = t, t * w / h  # thickness in unit coordinates along x and y
    half = 0.5
    return {
        "a": [p(tw, 0), p(1 - tw, 0), p(1 - 2 * tw, th), p(2 * tw, th)],
        "d": [p(2 * tw, 1 - th), p(1 - 2 * tw, 1 - th), p(1 - tw, 1), p(tw, 1)],
        "g": [
            p(tw, half),
            p(2 * tw, half - th / 2),
            p(1 - 2 * tw, half - th / 2),
            p(1 - tw, half),
            p(1 - 2 * tw, half + th / 2),
            p(2 * tw, half + th / 2),
        ],
        "f": [p(0, th), p(tw, th * 1.5), p(tw, half - th), p(0, half - th / 2)],
        "e": [p(0, half + th / 2), p(tw, half + th), p(tw, 1 - th * 1.5), p(0, 1 - th)],
        "b": [p(1, th), p(1, half - th / 2), p(1 - tw, half - th), p(1 - tw, th * 1.5)],
        "c": [p(1, half + th / 2), p(1, 1 - th), p(1 - tw, 1 - th * 1.5), p(1 - tw, half + th)],
    }


def draw_digital(time: DrawnTime, style: DigitalStyle, height: int, rng: np.random.Generator) -> RenderedClock:
    hour = time.hour12 if style.twelve_hour else time.hour
    text = f"{hour:02d}" if style.leading_zero else f"{hour:>2d}"
    text += f"{time.minute:02d}"
    big_h = height * _SUPERSAMPLE
    digit_h, digit_w = big_h * 0.62, big_h * 0.36
    gap, colon_w = digit_w * 0.25, digit_w * 0.35
    marker_w = digit_w * 0.9 if style.meridiem_marker else 0
    pad = big_h * 0.19
    width = int(pad * 2 + 4 * digit_w + 3 * gap + colon_w + marker_w + (gap if marker_w else 0))
    canvas = Image.new("RGBA", (width, big_h), (*style.bezel, 255))
    draw = ImageDraw.Draw(canvas)
    bezel = big_h * style.bezel_width
    draw.rectangle([bezel, bezel, width - bezel, big_h - bezel], fill=(*style.background, 255))
    ghost = tuple(int(b + (lt - b) * style.ghost) for b, lt in zip(style.background, style.lit, strict=True))
    top = (big_h - digit_h) / 2
    x = pad
    for index, char in enumerate(text):
        segments = _segment_polygons(x, top, digit_w, digit_h, style.thickness, style.slant)
        for name, polygon in segments.items():
            on = name in _SEGMENTS[char]
            if on or style.ghost > 0.02:
                draw.polygon(polygon, fill=(*(style.lit if on else ghost), 255))
        x += digit_w + gap
        if index == 1:
            dot = colon_w * 0.35
            for v in (0.33, 0.67):
                cy = top + digit_h * v
                cx = x + colon_w / 2 - gap / 2 + style.slant * digit_w * (1 - v)
                draw.ellipse([cx - dot / 2, cy - dot / 2, cx + dot / 2, cy + dot / 2], fill=(*style.lit, 255))
            x += colon_w
    if style.meridiem_marker:
        font = _font(rng, int(digit_h * 0.28))
        label = "PM" if time.hour >= 12 else "AM"
        draw.text((x + marker_w / 2, top + digit_h * 0.2), label, fill=(*style.lit, 255), font=font, anchor="mm")
    out_w = max(8, round(width / _SUPERSAMPLE))
    image = np.asarray(canvas.resize((out_w, height), Image.Resampling.LANCZOS))
    return RenderedClock(image=image, time=time, kind="digital", shows_meridiem=style.meridiem_marker,
                         twenty_four_hour=not style.twelve_hour)  # fmt: skip


def random_time(rng: np.random.Generator) -> DrawnTime:
    return DrawnTime(int(rng.integers(24)), int(rng.integers(60)), int(rng.integers(60)))


def random_clock(rng: np.random.Generator, size: int, *, digital_share: float = 0.3,
                 time: DrawnTime | None = None) -> RenderedClock:  # fmt: skip
    time = time or random_time(rng)
    if rng.random() < digital_share:
        return draw_digital(time, random_digital_style(rng), max(12, int(size * rng.uniform(0.35, 0.6))), rng)
    return draw_analog(time, random_analog_style(rng), size, rng)


# -- backgrounds and damage ----------------------------------------------------------------


def fill_frame(photo: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of `photo` at the frame's aspect (at least half its size), scaled to width x height."""
    photo_height, photo_width = photo.shape[:2]
    scale = min(photo_width / width, photo_height / height) * float(rng.uniform(0.5, 1.0))
    crop_width, crop_height = max(1, round(width * scale)), max(1, round(height * scale))
    x = int(rng.integers(0, photo_width - crop_width + 1))
    y = int(rng.integers(0, photo_height - crop_height + 1))
    crop = photo[y : y + crop_height, x : x + crop_width]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA).copy()


def random_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A varied, cluttered RGB background: gradients, textures, shapes and stripes."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    start, end = np.array(_color(rng), np.float32), np.array(_color(rng), np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    t = (xs * math.cos(angle) + ys * math.sin(angle)) / max(width, height)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    image = start + (end - start) * t[..., None]
    for _ in range(int(rng.integers(1, 4))):  # wavy textures
        fx, fy = rng.uniform(0.002, 0.05, size=2)
        amplitude = rng.uniform(5, 40)
        image += amplitude * np.sin(xs * fx * 2 * math.pi + ys * fy * 2 * math.pi + rng.uniform(0, 6))[..., None]
    canvas = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 15))):  # clutter
        color = tuple(int(v) for v in _color(rng))
        kind = rng.integers(4)
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(10, max(11, width // 3))), int(rng.integers(10, max(11, height // 3)))
        if kind == 0:
            cv2.rectangle(canvas, (x, y), (x + w, y + h), color, -1)
        elif kind == 1:  # round things that are not clocks: plates, wheels, lamps
            cv2.circle(canvas, (x, y), int(min(w, h) / 2), color, int(rng.choice([-1, 2, 5])))
        elif kind == 2:
            cv2.line(canvas, (x, y), (x + w, y + h), color, int(rng.integers(1, 6)))
        else:
            cv2.putText(canvas, str(int(rng.integers(0, 99999))), (x, y), cv2.FONT_HERSHEY_SIMPLEX,
                        float(rng.uniform(0.4, 2.0)), color, int(rng.integers(1, 4)))  # fmt: skip
    return canvas


def perspective(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Warp an RGBA image as if seen from the side, keeping all of it in view."""
    return perspective_warp(image, rng, strength)[0]


def perspective_warp(image: np.ndarray, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """`perspective`, and the 3 x 3 homography from the image to the warped one (whose corner is
    moved to the origin), so that what the image showed can be found in the warped one."""
    h, w = image.shape[:2]
    pad = int(max(h, w) * strength)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0, 0))
    ph, pw = padded.shape[:2]
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    jitter = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * np.float32([w, h]) * strength
    # A rotation in the image plane as well, up to about 25 degrees.
    theta = rng.normal(0, 0.15)
    center = np.float32([pw / 2, ph / 2])
    rotation = np.float32([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    dst = (src - center) @ rotation.T + center + jitter
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(padded, matrix, (pw, ph), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    ys, xs = np.nonzero(warped[..., 3] > 8)
    if len(xs) == 0:
        return image, np.eye(3)
    to_corner = np.array([[1, 0, -xs.min()], [0, 1, -ys.min()], [0, 0, 1]], np.float64)
    from_image = np.array([[1, 0, pad], [0, 1, pad], [0, 0, 1]], np.float64)
    return warped[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], to_corner @ matrix @ from_image


def damage(image: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """What cameras, films and encoders do to a picture: light, glare, blur, grain, low resolution, JPEG."""
    out = image.astype(np.float32)
    h, w = out.shape[:2]
    if rng.random() < 0.5 * amount:  # dark scenes, low contrast, colour casts
        gain = rng.uniform(0.35, 1.15)
        out = out * gain * rng.uniform(0.85, 1.15, size=3) + rng.uniform(-20, 20)
    if rng.random() < 0.3 * amount:  # gamma
        out = 255 * (np.clip(out, 0, 255) / 255) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.35 * amount:  # glare on glass: a soft bright blob
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        radius = rng.uniform(0.15, 0.6) * max(h, w)
        blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
        out += blob[..., None] * rng.uniform(60, 200)
    if rng.random() < 0.25 * amount:  # a reflection: a faint ghost of other things
        ghost = random_background(rng, w, h).astype(np.float32)
        out = out * (1 - (alpha := rng.uniform(0.08, 0.25))) + ghost * alpha
    if rng.random() < 0.35 * amount:  # motion blur
        length = int(rng.integers(3, max(4, int(0.08 * max(h, w)) + 1)))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    elif rng.random() < 0.35 * amount:  # defocus
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
    if rng.random() < 0.5 * amount:  # sensor noise and film grain
        out += rng.normal(0, rng.uniform(2, 14), size=out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.3 * amount:  # low resolution, then scaled back up
        scale = rng.uniform(0.25, 0.7)
        small = cv2.resize(out, (max(8, int(w * scale)), max(8, int(h * scale))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.4 * amount:  # compression
        ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
        if ok:
            out = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return out


def paste(canvas: np.ndarray, sprite: np.ndarray, x: int, y: int) -> tuple[int, int, int, int] | None:
    """Alpha-blend an RGBA sprite onto an RGB canvas at (x, y); returns the visible box (x, y, w, h)."""
    h, w = sprite.shape[:2]
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    alpha = part[..., 3:4] / 255
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (region * (1 - alpha) + part[..., :3] * alpha).astype(np.uint8)
    ys, xs = np.nonzero(part[..., 3] > 32)
    if len(xs) == 0:
        return None
    return (x0 + int(xs.min()), y0 + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def occlude(canvas: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator, share: float) -> None:
    """Cover part of a box with a random shape, as a hand, a shoulder or a lamp would."""
    x, y, w, h = box
    side = rng.integers(4)
    color = tuple(int(v) for v in _color(rng))
    if side == 0:
        cv2.rectangle(canvas, (x, y), (x + int(w * share), y + h), color, -1)
    elif side == 1:
        cv2.rectangle(canvas, (x + w - int(w * share), y), (x + w, y + h), color, -1)
    elif side == 2:
        cv2.rectangle(canvas, (x, y + h - int(h * share)), (x + w, y + h), color, -1)
    else:
        cv2.circle(canvas, (x + int(rng.uniform(0, w)), y + int(rng.uniform(0, h))), int(min(w, h) * share), color, -1)


# -- reader crops and detector scenes ------------------------------------------------------


@dataclass(frozen=True)
class ReaderSample:
    image: np.ndarray  # RGB crop around the clock, square
    time: DrawnTime
    kind: str
    shows_meridiem: bool
    twenty_four_hour: bool = False


def reader_sample(rng: np.random.Generator, size: int, *, digital_share: float = 0.0,
                  time: DrawnTime | None = None, clean_share: float = 0.0) -> ReaderSample:  # fmt: skip
    """One clock as a detector would crop it: a loose square box around it, with its surroundings.
    A `clean_share` of samples are nearly frontal and lightly damaged, as a well-lit clock in a
    sharp film frame is: a reader trained only on hard cases can get the easy ones wrong."""
    clean = clean_share > 0 and rng.random() < clean_share
    native = int(rng.choice([48, 64, 96, 128, 160]))
    clock = random_clock(rng, native, digital_share=digital_share, time=time)
    sprite = perspective(clock.image, rng, strength=float(rng.uniform(0.0, 0.06 if clean else 0.22)))
    h, w = sprite.shape[:2]
    side = int(max(h, w) * rng.uniform(1.05, 1.3))
    canvas = random_background(rng, side, side)
    box = paste(canvas, sprite, (side - w) // 2 + int(rng.integers(-side // 20, side // 20 + 1)),
                (side - h) // 2 + int(rng.integers(-side // 20, side // 20 + 1)))  # fmt: skip
    if box is not None and not clean and rng.random() < 0.15:
        occlude(canvas, box, rng, share=float(rng.uniform(0.1, 0.25)))
    canvas = damage(canvas, rng, amount=0.3 if clean else 1.0)
    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return ReaderSample(image=image, time=clock.time, kind=clock.kind, shows_meridiem=clock.shows_meridiem,
                        twenty_four_hour=clock.twenty_four_hour)  # fmt: skip


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # RGB
    boxes: tuple[tuple[int, int, int, int], ...]  # x, y, w, h of each clock
    clocks: tuple[RenderedClock, ...]


def render_scene(rng: np.random.Generator, width: int = 640, height: int = 384, *, max_clocks: int = 3,
                 empty_share: float = 0.15, background: np.ndarray | None = None) -> Scene:  # fmt: skip
    """A cluttered frame with 0 to max_clocks clocks, as a film frame might show them; on
    `background` (an RGB photo, cropped and scaled to fill the frame) when given."""
    canvas = random_background(rng, width, height) if background is None else fill_frame(background, width, height, rng)
    count = 0 if rng.random() < empty_share else int(rng.integers(1, max_clocks + 1))
    boxes: list[tuple[int, int, int, int]] = []
    clocks: list[RenderedClock] = []
    for _ in range(count):
        size = int(min(width, height) * rng.uniform(0.07, 0.45))
        clock = random_clock(rng, max(16, size))
        sprite = perspective(clock.image, rng, strength=float(rng.uniform(0.0, 0.25)))
        h, w = sprite.shape[:2]
        for _attempt in range(10):  # keep clocks apart, as they are in real frames
            x, y = int(rng.integers(-w // 6, width - w + w // 6)), int(rng.integers(-h // 6, height - h + h // 6))
            if all(Box(x, y, w, h).iou(Box(*other)) < 0.1 for other in boxes):
                break
        box = paste(canvas, sprite, x, y)
        if box is None or box[2] < 8 or box[3] < 8:
            continue
        if rng.random() < 0.15:
            occlude(canvas, box, rng, share=float(rng.uniform(0.1, 0.3)))
        boxes.append(box)
        clocks.append(clock)
    return Scene(image=damage(canvas, rng, amount=0.8), boxes=tuple(boxes), clocks=tuple(clocks))


@dataclass(frozen=True)
class DisplaySample:
    """A digital display as a detector would box it, cropped wide: what the digits and marker say."""

    image: np.ndarray  # RGB, DISPLAY_CROP size
    text: str  # the four digit places as drawn, a blank place as " " (e.g. " 905")
    marker: str  # "none" | "am" | "pm"
    time: DrawnTime


def display_sample(rng: np.random.Generator, size: tuple[int, int], *, time: DrawnTime | None = None) -> DisplaySample:
    """A rendered display pasted into clutter, boxed with a detector's error, damaged and cropped to `size` (w, h)."""
    time = time or random_time(rng)
    style = random_digital_style(rng)
    clock = draw_digital(time, style, int(rng.choice([14, 18, 24, 32, 44, 60, 80])), rng)
    sprite = perspective(clock.image, rng, strength=float(rng.uniform(0.0, 0.12)))
    h, w = sprite.shape[:2]
    canvas = random_background(rng, int(w * 1.8) + 8, int(w * 1.8) + 8)
    box = paste(canvas, sprite, (canvas.shape[1] - w) // 2, (canvas.shape[0] - h) // 2)
    if box is not None and rng.random() < 0.1:
        occlude(canvas, box, rng, share=float(rng.uniform(0.05, 0.15)))
    canvas = damage(canvas, rng)
    x, y, bw, bh = box or (0, 0, canvas.shape[1], canvas.shape[0])
    if rng.random() < 0.2:
        # No box at all (eval_reader without a bbox): a loose square around the display, as reader crops are.
        side = max(bw, bh) * rng.uniform(1.05, 1.3)
        detected = Box(x + bw / 2 - side / 2, y + bh / 2 - side / 2, side, side)
    else:
        # A detector's box is off by a few percent on each edge.
        jitter = rng.uniform(-0.06, 0.06, size=4)
        detected = Box(x + jitter[0] * bw, y + jitter[1] * bh, bw * (1 + jitter[2]), bh * (1 + jitter[3]))
    hour = time.hour12 if style.twelve_hour else time.hour
    text = (f"{hour:02d}" if style.leading_zero else f"{hour:>2d}") + f"{time.minute:02d}"
    marker = ("pm" if time.hour >= 12 else "am") if style.meridiem_marker else "none"
    return DisplaySample(image=crop_display(canvas, detected, size), text=text, marker=marker, time=time)
