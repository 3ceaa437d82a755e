"""Tags: how much each frame looks like each concept. With CLIP, zero-shot: image vectors
compared with the vectors of the vocabulary's text prompts. Offline, the models' own concepts:
ImageNet's class probabilities and the COCO objects detected (offline_frame_tags). Then the
arithmetic over a video's frames (top tags, when a concept appears) and the AM/PM that day or
night suggests for a dial's reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# CLIP's learned temperature: similarities are multiplied by this before the softmax.
LOGIT_SCALE = 100.0
PROMPT = "a photo of {}"

DEFAULT_CONCEPTS = (
    # time of day and setting
    "daytime", "night", "dawn", "dusk", "indoors", "outdoors", "sunlight", "darkness", "artificial light",
    # places
    "a train station", "an airport", "a street", "a city skyline", "a highway", "a bridge", "a harbour", "a beach",
    "a forest", "a mountain", "a desert", "a field", "a park", "a garden", "a river", "a lake", "the sea", "snow",
    "a kitchen", "a living room", "a bedroom", "a bathroom", "an office", "a classroom", "a library", "a hospital",
    "a hotel lobby", "a restaurant", "a bar", "a cafe", "a shop", "a supermarket", "a church", "a courtroom",
    "a police station", "a prison cell", "a factory", "a warehouse", "a laboratory", "a school", "a gym",
    "a stage", "a theatre", "a cinema", "a museum", "a parking garage", "a subway", "a bus", "a car interior",
    "an elevator", "a staircase", "a hallway", "a rooftop", "a balcony", "a tower", "a castle", "a farm",
    "a boat", "a ship deck", "a cockpit", "a spaceship", "a control room", "a newsroom", "a casino", "a bank",
    # weather and light
    "rain", "fog", "storm", "clouds", "a clear sky", "fireworks", "candlelight", "neon lights", "shadows",
    # clocks and time
    "a wall clock", "a wristwatch", "a pocket watch", "an alarm clock", "a clock tower", "a digital clock",
    "a stopwatch", "an hourglass", "a calendar", "a countdown timer",
    # people
    "a man", "a woman", "a child", "a baby", "an old man", "an old woman", "a couple", "a crowd", "a family",
    "a soldier", "a police officer", "a doctor", "a nurse", "a teacher", "a waiter", "a chef", "a detective",
    "a businessman", "a musician", "a dancer", "an athlete", "a priest", "a judge", "a cowboy", "a robot",
    # actions
    "someone running", "someone walking", "someone sleeping", "someone eating", "someone drinking",
    "someone reading", "someone writing", "someone on the phone", "someone typing", "someone driving",
    "someone dancing", "someone singing", "someone crying", "someone laughing", "someone shouting",
    "someone waiting", "someone checking the time", "people talking", "people kissing", "people fighting",
    "people arguing", "people hugging", "a chase", "an explosion", "a gunfight", "a meeting", "a party",
    "a wedding", "a funeral", "a celebration",
    # things
    "a car", "a train", "a plane", "a bicycle", "a motorcycle", "a taxi", "a truck", "a horse", "a dog", "a cat",
    "a bird", "a telephone", "a computer", "a television", "a radio", "a newspaper", "a book", "a letter",
    "a gun", "a knife", "money", "a suitcase", "a bed", "a desk", "a table", "a window", "a door", "a mirror",
    "a painting", "a photograph", "flowers", "a candle", "a lamp", "food", "a drink", "a cigarette", "a bottle",
    "a coffee cup", "a map", "a key", "a piano", "a guitar",
    # look of the picture
    "a black and white film", "a cartoon", "a close-up of a face", "a wide shot", "text on screen",
    "a dark scene", "a bright scene", "a blurry picture", "a news broadcast", "a sports game",
)  # fmt: skip


def concept_probabilities(frames: np.ndarray, concepts: np.ndarray, scale: float = LOGIT_SCALE) -> np.ndarray:
    """frames: N x D and concepts: C x D unit vectors -> N x C, each row a softmax over the concepts."""
    if len(frames) == 0 or len(concepts) == 0:
        return np.zeros((len(frames), len(concepts)), np.float32)
    logits = scale * frames @ concepts.T
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def pair_probability(frames: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """For each frame, the probability of `first` against `second` alone (e.g. daytime vs night)."""
    return concept_probabilities(frames, np.stack([first, second]))[:, 0]


def offline_frame_tags(probabilities: np.ndarray, object_labels: np.ndarray, object_scores: np.ndarray,
                       *, imagenet_names: list[str], coco_names: list[str], imagenet_threshold: float,
                       coco_threshold: float) -> dict[str, float]:  # fmt: skip
    """One frame's offline tags, name -> score: the ImageNet classes at least `imagenet_threshold`
    probable, and the COCO objects found at least `coco_threshold` surely (the surest box of each
    class). A name both models know (umbrella, laptop) is there if either sees it: 1 - (1 - a)(1 - b)."""
    tags: dict[str, float] = {}
    for index in np.flatnonzero(probabilities >= imagenet_threshold):
        tags[imagenet_names[index]] = float(probabilities[index])
    surest: dict[int, float] = {}
    for label, score in zip(object_labels.tolist(), object_scores.tolist(), strict=True):
        if score >= coco_threshold:
            surest[label] = max(surest.get(label, 0.0), float(score))
    for label, score in surest.items():
        name = coco_names[label]
        tags[name] = 1 - (1 - tags.get(name, 0.0)) * (1 - score)
    return {name: round(min(1.0, score), 4) for name, score in tags.items()}


def offline_tags(images: list[np.ndarray], probabilities: np.ndarray, detector: object | None, *,
                 imagenet_names: list[str], coco_names: list[str], imagenet_threshold: float,
                 coco_threshold: float) -> list[dict[str, float]]:  # fmt: skip
    """Each frame's offline tags (offline_frame_tags): its ImageNet class probabilities (N x 1000)
    and the COCO objects `detector` (NanoDet-m's `detect`; None: no objects) finds in it."""
    nothing = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    found = detector.detect(images) if detector is not None and images else [None] * len(images)
    tags = []
    for row, detections in zip(probabilities, found, strict=True):
        labels, scores = (
            (detections.labels.cpu().numpy(), detections.scores.cpu().numpy()) if detections is not None else nothing
        )
        tags.append(offline_frame_tags(row, labels, scores, imagenet_names=imagenet_names,
                                       coco_names=coco_names, imagenet_threshold=imagenet_threshold,
                                       coco_threshold=coco_threshold))  # fmt: skip
    return tags


# A tag this sure still leaves room for doubt, so that ln(1 - score) stays finite.
SUREST_TAG = 0.999


def concept_relevance(tags: dict[str, float], terms: list[set[str]]) -> float:
    """How surely a frame with these tags shows what a query's terms matched, as the offline
    search ranks scenes (catalog.selectors.concept_search does the same in SQL): per term, the
    chance that any of its matched tags is right, 1 - the product of (1 - score); the mean over
    the terms."""
    if not terms:
        return 0.0
    per_term = [1 - float(np.prod([1 - min(score, SUREST_TAG) for name, score in tags.items() if name in term]))
                for term in terms]  # fmt: skip
    return float(np.mean(per_term))


@dataclass(frozen=True)
class Segment:
    start: float
    end: float


def appearance_segments(seconds: list[float], present: list[bool], *, gap: float) -> list[Segment]:
    """Stretches in which a concept is present, from frames sampled at `seconds` (sorted). Each
    frame stands for the time up to half the way to its neighbours (at most gap / 2 either side);
    neighbouring present frames no more than `gap` apart join one stretch."""
    segments: list[Segment] = []
    for index, (second, here) in enumerate(zip(seconds, present, strict=True)):
        if not here:
            continue
        before = seconds[index - 1] if index > 0 else second - gap
        after = seconds[index + 1] if index + 1 < len(seconds) else second + gap
        start = max(0.0, second - min(gap, second - before) / 2)
        end = second + min(gap, after - second) / 2
        if segments and start - segments[-1].end <= 1e-6:
            segments[-1] = Segment(segments[-1].start, end)
        else:
            segments.append(Segment(start, end))
    return segments


def propose_meridiem(hour: int, daylight: float) -> tuple[str, float]:
    """AM or PM for a dial that reads `hour` (1-12), from how much its scene looks like daytime
    (0-1): 3 o'clock in daylight is 15:00, in the dark 03:00. Returns the proposal and how sure it
    is (0: no idea). 6 o'clock is dawn or dusk either way, so it gets no proposal."""
    if hour == 6:
        return "unknown", 0.0
    day_half = "am" if 7 <= hour <= 11 else "pm"  # 7-11 o'clock in daylight is morning; 12-5 afternoon
    night_half = "pm" if 7 <= hour <= 11 else "am"
    if daylight >= 0.5:
        return day_half, round(2 * daylight - 1, 4)
    return night_half, round(1 - 2 * daylight, 4)
