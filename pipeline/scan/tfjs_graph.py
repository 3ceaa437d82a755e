"""Runs a TensorFlow.js graph model with torch, so a model published for the browser needs no TensorFlow.

A TF.js graph model is a `model.json` (the TensorFlow GraphDef as JSON, plus a manifest of the
weights) and binary weight shards. `read_tfjs` decodes both into a `GraphSpec`: plain nodes and
torch tensors, which `torch.save` can store and `torch.load(weights_only=True)` read back, so the
run-time environment needs torch only. `TfjsGraph` turns a spec into an `nn.Module`.

Only the ops listed in `SUPPORTED_OPS` are implemented: the set NanoDet-m's converted graph uses
(an ONNX export converted by onnx-tf, hence NCHW tensors transposed around every NHWC op). A graph
with any other op is refused at load, naming the ops. Tensors keep TensorFlow's logical layout
throughout; `Transpose` is a torch view, so an NHWC `Conv2D` between two transposes costs no
copy: it runs as an ordinary torch convolution on the same memory (kept channels-last, which
torch's CPU convolutions run fastest).

Work that does not depend on the input is done once, at load: nodes whose inputs are all
constants are evaluated (the Reshape targets NanoDet builds with SparseToDense), shapes, perms and
pads become Python values, convolution filters are turned to torch's OIHW layout and a bias `Add`
or a zero `Pad` next to a convolution is folded into it.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SPEC_FORMAT = "clockweb-tfjs-graph/1"

SUPPORTED_OPS = frozenset(
    {"Const", "Placeholder", "Identity", "Add", "AddV2", "Conv2D", "Pad", "PadV2", "LeakyRelu", "Sigmoid",
     "Transpose", "ConcatV2", "SplitV", "Reshape", "ResizeBilinear", "MaxPool", "SparseToDense"}
)  # fmt: skip

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANTIZED_DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}

Value = torch.Tensor | tuple[torch.Tensor, ...]


class UnsupportedGraph(ValueError):
    """The graph uses an op, dtype or form of an op that this interpreter does not implement."""


@dataclass(frozen=True)
class GraphNode:
    name: str
    op: str
    inputs: tuple[str, ...]  # "node" or "node:k" (k-th output); control inputs ("^node") are dropped
    attrs: dict[str, Any]  # decoded to plain Python values


@dataclass(frozen=True)
class GraphSpec:
    """A graph model as plain data: what `torch.save` stores and `TfjsGraph` runs."""

    nodes: tuple[GraphNode, ...]
    constants: dict[str, torch.Tensor]  # the value of each Const node, by node name
    inputs: tuple[str, ...]  # Placeholder names, in the signature's order
    outputs: tuple[str, ...]  # output tensors ("Identity:0"), in the signature's order
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # -1 where free

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SPEC_FORMAT,
            "nodes": [{"name": n.name, "op": n.op, "inputs": list(n.inputs), "attrs": n.attrs} for n in self.nodes],
            "constants": self.constants,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "input_shapes": {name: list(shape) for name, shape in self.input_shapes.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphSpec:
        if data.get("format") != SPEC_FORMAT:
            raise ValueError(f"not a {SPEC_FORMAT} graph (format {data.get('format')!r})")
        nodes = tuple(GraphNode(n["name"], n["op"], tuple(n["inputs"]), n["attrs"]) for n in data["nodes"])
        shapes = {name: tuple(shape) for name, shape in data["input_shapes"].items()}
        return cls(nodes, dict(data["constants"]), tuple(data["inputs"]), tuple(data["outputs"]), shapes)


# -- reading model.json and its weight shards ------------------------------------------------------


def _attr_value(value: dict[str, Any]) -> Any:
    """One attr of a GraphDef node, from its protobuf JSON form (where default values are left out)."""
    if "list" in value:
        items = value["list"]
        for key in ("i", "f", "s", "b", "type", "shape"):
            if key in items:
                return [_attr_value({key: item}) for item in items[key]]
        return []
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return str(value["type"])
    if "shape" in value:
        return [int(dim.get("size", -1)) for dim in value["shape"].get("dim", [])]
    return None  # a tensor (a Const's value lives in the weights) or a function


def _decode_weights(manifest: list[dict[str, Any]], directory: Path) -> dict[str, torch.Tensor]:
    """The weights of a TF.js manifest, dequantized. Values stay in the smallest lossless dtype
    (float16-quantized weights as float16); `TfjsGraph` computes in float32."""
    weights = {}
    for group in manifest:
        data = b"".join((directory / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            name, dtype, shape = spec["name"], spec["dtype"], [int(size) for size in spec["shape"]]
            count = math.prod(shape)
            quantization = spec.get("quantization")
            if dtype not in _DTYPES:
                raise UnsupportedGraph(f"weight {name!r} has dtype {dtype!r}; supported: {', '.join(_DTYPES)}")
            if quantization:
                stored = _QUANTIZED_DTYPES.get(quantization["dtype"])
                if stored is None:
                    raise UnsupportedGraph(f"weight {name!r} is quantized as {quantization['dtype']!r}")
                values = np.frombuffer(data, stored, count, offset)
                offset += values.nbytes
                if stored is not np.float16:  # affine uint8/uint16 quantization
                    values = values.astype(np.float32) * quantization["scale"] + quantization["min"]
                if dtype == "int32":
                    values = np.round(values).astype(np.int32)
            else:
                values = np.frombuffer(data, _DTYPES[dtype], count, offset)
                offset += values.nbytes
            weights[name] = torch.from_numpy(values.reshape(shape).copy())
        if offset != len(data):
            raise ValueError(f"the weight shards {group['paths']} hold {len(data)} bytes; the manifest reads {offset}")
    return weights


def read_tfjs(model_json: str | Path) -> GraphSpec:
    """A TF.js graph model (model.json and the weight shards beside it) as a `GraphSpec`."""
    path = Path(model_json)
    model = json.loads(path.read_text())
    if model.get("format") not in (None, "graph-model"):
        raise UnsupportedGraph(f"{path} is a TF.js {model.get('format')!r}, not a graph model")
    topology = model["modelTopology"]
    constants = _decode_weights(model["weightsManifest"], path.parent)
    nodes = tuple(
        GraphNode(
            node["name"],
            node["op"],
            tuple(name for name in node.get("input", []) if not name.startswith("^")),
            {key: _attr_value(value) for key, value in node.get("attr", {}).items()},
        )
        for node in topology["node"]
    )
    if topology.get("library", {}).get("function"):
        raise UnsupportedGraph(f"{path} has graph functions (control flow), which are not supported")
    missing = [n.name for n in nodes if n.op == "Const" and n.name not in constants]
    if missing:
        raise ValueError(f"Const nodes without weights in {path}: {', '.join(missing[:5])}")
    signature = model.get("signature") or model.get("userDefinedMetadata", {}).get("signature", {})
    placeholders = [n for n in nodes if n.op == "Placeholder"]
    inputs = tuple(_node_name(ref) for ref in signature.get("inputs", {})) or tuple(n.name for n in placeholders)
    outputs = tuple(signature.get("outputs", {}))
    if not outputs:
        raise ValueError(f"{path} names no outputs in its signature")
    shapes = {n.name: tuple(n.attrs.get("shape") or ()) for n in placeholders}
    return GraphSpec(nodes, {n.name: constants[n.name] for n in nodes if n.op == "Const"}, inputs, outputs, shapes)


def _node_name(ref: str) -> str:
    return ref.split(":")[0]


def _ref(ref: str) -> tuple[str, int]:
    """("node", output index) of a tensor reference such as "node" or "node:1"."""
    name, _, index = ref.partition(":")
    return name, int(index or 0)


# -- kernels: one torch function per op, on tensors in TensorFlow's logical layout -----------------


def _spatial_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of one dimension: the odd pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *, nhwc: bool,
            strides: tuple[int, int], dilations: tuple[int, int], padding: str,
            pads: tuple[int, int, int, int]) -> torch.Tensor:  # fmt: skip
    """Conv2D with an OIHW weight; `pads` (top, bottom, left, right) for EXPLICIT and folded pads."""
    if nhwc:
        x = x.permute(0, 3, 1, 2)
    # Channels-last memory is about twice as fast in torch's CPU convolutions here (and no slower
    # on CUDA); after the first convolution the tensors are already laid out so, and this is free.
    x = x.contiguous(memory_format=torch.channels_last)
    groups = x.shape[1] // weight.shape[1]  # TensorFlow's grouped convolution: a filter thinner than the input
    top, bottom, left, right = pads
    if padding == "SAME":
        top, bottom = _spatial_padding(x.shape[2], weight.shape[2], strides[0], dilations[0])
        left, right = _spatial_padding(x.shape[3], weight.shape[3], strides[1], dilations[1])
    if top == bottom and left == right:
        y = F.conv2d(x, weight, bias, strides, (top, left), dilations, groups)
    else:
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, strides, 0, dilations, groups)
    return y.permute(0, 2, 3, 1) if nhwc else y


def _max_pool(x: torch.Tensor, *, nhwc: bool, ksize: tuple[int, int], strides: tuple[int, int],
              padding: str) -> torch.Tensor:  # fmt: skip
    if nhwc:
        x = x.permute(0, 3, 1, 2)
    if padding == "SAME":
        top, bottom = _spatial_padding(x.shape[2], ksize[0], strides[0], 1)
        left, right = _spatial_padding(x.shape[3], ksize[1], strides[1], 1)
        x = F.pad(x, (left, right, top, bottom), value=-math.inf)
    y = F.max_pool2d(x, ksize, strides)
    return y.permute(0, 2, 3, 1) if nhwc else y


def _legacy_resize_indices(size_in: int, size_out: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Source rows (or columns) and weights of TensorFlow's original bilinear resize, which maps
    output pixel i to input position i * in / out (no half-pixel shift); torch has no such mode."""
    position = torch.arange(size_out, dtype=torch.float32, device=device) * (size_in / size_out)
    low = position.floor().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    return low.long(), high.long(), position - low


def _resize_bilinear(x: torch.Tensor, *, size: tuple[int, int], align_corners: bool,
                     half_pixel_centers: bool) -> torch.Tensor:  # fmt: skip
    """ResizeBilinear of an NHWC tensor."""
    if align_corners or half_pixel_centers:
        # torch's align_corners=False is TensorFlow's half_pixel_centers (both clamp at the border).
        y = F.interpolate(x.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=align_corners)
        return y.permute(0, 2, 3, 1)
    rows_low, rows_high, row_weight = _legacy_resize_indices(x.shape[1], size[0], x.device)
    cols_low, cols_high, col_weight = _legacy_resize_indices(x.shape[2], size[1], x.device)
    row_weight, col_weight = row_weight[:, None, None], col_weight[:, None]
    top = x[:, rows_low] * (1 - row_weight) + x[:, rows_high] * row_weight
    return top[:, :, cols_low] * (1 - col_weight) + top[:, :, cols_high] * col_weight


def _pad(x: torch.Tensor, *, paddings: list[list[int]], constant_value: float = 0.0) -> torch.Tensor:
    flat = [amount for before_after in reversed(paddings) for amount in before_after]
    return F.pad(x, flat, value=float(constant_value))


def _reshape(x: torch.Tensor, *, shape: list[int]) -> torch.Tensor:
    # Graphs exported for a batch of one write that 1 into their Reshape targets; a larger batch
    # takes its place (tensors computed from the input carry the batch first).
    if shape and shape[0] == 1 and x.dim() and x.shape[0] != 1:
        shape = [x.shape[0], *shape[1:]]
    return x.reshape(shape)


def _split_v(x: torch.Tensor, *, size_splits: list[int], axis: int) -> tuple[torch.Tensor, ...]:
    if -1 in size_splits:
        known = sum(size for size in size_splits if size != -1)
        size_splits = [x.shape[axis] - known if size == -1 else size for size in size_splits]
    return torch.split(x, size_splits, dim=axis)


def _sparse_to_dense(indices: torch.Tensor, output_shape: torch.Tensor, values: torch.Tensor,
                     default: torch.Tensor) -> torch.Tensor:  # fmt: skip
    dense = torch.full(output_shape.tolist(), default.item(), dtype=values.dtype)
    if indices.numel():
        index = indices.long().reshape(indices.shape[0], -1) if indices.dim() else indices.long().reshape(1, 1)
        dense[tuple(index.T)] = values
    return dense


def _concat(*tensors: torch.Tensor, axis: int) -> torch.Tensor:
    return torch.cat(tensors, dim=axis)


def _transpose(x: torch.Tensor, *, perm: list[int]) -> torch.Tensor:
    return x.permute(perm)


# Per op: the kernel, and which inputs must be constants, passed to the kernel as Python values.
_STATIC_INPUTS: dict[str, dict[int, str]] = {
    "Transpose": {1: "perm"},
    "Pad": {1: "paddings"},
    "PadV2": {1: "paddings", 2: "constant_value"},
    "Reshape": {1: "shape"},
    "ResizeBilinear": {1: "size"},
    "SplitV": {1: "size_splits", 2: "axis"},
    "ConcatV2": {-1: "axis"},
}
_KERNELS: dict[str, Callable[..., Value]] = {
    "Add": torch.add,
    "AddV2": torch.add,
    "Sigmoid": torch.sigmoid,
    "Transpose": _transpose,
    "Pad": _pad,
    "PadV2": _pad,
    "Reshape": _reshape,
    "ResizeBilinear": _resize_bilinear,
    "SplitV": _split_v,
    "ConcatV2": _concat,
    "SparseToDense": _sparse_to_dense,
}


# -- planning: constants folded, kernels bound, convolutions prepared ------------------------------

Key = tuple[str, int]  # a tensor: (node name, output index)


@dataclass
class _Step:
    """One kernel call at run time. `args` are keys of tensors computed before it or of constants;
    its results are the keys (`out`, 0), (`out`, 1), …"""

    op: str
    out: str
    kernel: Callable[..., Value]
    args: list[Key]
    static: dict[str, Any] = field(default_factory=dict)


def _topological(nodes: dict[str, GraphNode], outputs: Iterable[str]) -> list[GraphNode]:
    """The nodes the outputs depend on, each after its inputs."""
    order: list[GraphNode] = []
    state: dict[str, bool] = {}  # False: being visited, True: done
    stack = [(_node_name(ref), False) for ref in outputs]
    while stack:
        name, inputs_done = stack.pop()
        if inputs_done:
            state[name] = True
            order.append(nodes[name])
            continue
        if state.get(name) is True:
            continue
        if name not in nodes:
            raise ValueError(f"the graph refers to a node {name!r} it does not have")
        if state.get(name) is False:
            raise ValueError(f"the graph has a cycle through {name!r}")
        state[name] = False
        stack.append((name, True))
        stack.extend((_node_name(ref), False) for ref in reversed(nodes[name].inputs) if not state.get(_node_name(ref)))
    return order


def _padding_mode(node: GraphNode) -> str:
    padding = node.attrs.get("padding") or "VALID"
    if padding not in ("SAME", "VALID", "EXPLICIT") or (padding == "EXPLICIT" and node.op != "Conv2D"):
        raise UnsupportedGraph(f"{node.op} {node.name!r} has padding {padding!r}")
    return padding


def _plan(node: GraphNode, inputs: list[Key], constants: dict[Key, torch.Tensor]) -> _Step:
    """The kernel call for one node, with its constant-only inputs turned to Python values."""
    positions = {position % len(inputs): name for position, name in _STATIC_INPUTS.get(node.op, {}).items()}
    static: dict[str, Any] = {}
    for position, argument in positions.items():
        if inputs[position] not in constants:
            raise UnsupportedGraph(f"{node.op} {node.name!r} computes its {argument} at run time")
        static[argument] = constants[inputs[position]].tolist()
    args = [key for position, key in enumerate(inputs) if position not in positions]
    kernel = _KERNELS.get(node.op)
    if node.op == "LeakyRelu":
        alpha = node.attrs.get("alpha")
        kernel, static["negative_slope"] = F.leaky_relu, 0.2 if alpha is None else alpha  # TensorFlow's default
    elif node.op == "ResizeBilinear":
        static["size"] = tuple(static["size"])
        static["align_corners"] = bool(node.attrs.get("align_corners"))
        static["half_pixel_centers"] = bool(node.attrs.get("half_pixel_centers"))
    elif node.op == "MaxPool":
        nhwc = _nhwc(node)
        kernel = _max_pool
        static.update(nhwc=nhwc, padding=_padding_mode(node), ksize=_spatial(node.attrs.get("ksize"), nhwc),
                      strides=_spatial(node.attrs.get("strides"), nhwc))  # fmt: skip
    elif node.op == "Conv2D":
        if args[1] not in constants:
            raise UnsupportedGraph(f"Conv2D {node.name!r} has a filter computed at run time")
        nhwc = _nhwc(node)
        padding = _padding_mode(node)
        explicit = node.attrs.get("explicit_paddings") or [0] * 8
        height, width = (1, 2) if nhwc else (2, 3)
        pads = (explicit[2 * height], explicit[2 * height + 1], explicit[2 * width], explicit[2 * width + 1])
        # The filter turned from TensorFlow's HWIO to torch's OIHW (stored channels-last) once, here.
        oihw = (f"{node.name}/oihw", 0)
        constants[oihw] = constants[args[1]].float().permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        args[1] = oihw
        kernel = _conv2d
        static.update(nhwc=nhwc, strides=_spatial(node.attrs.get("strides"), nhwc),
                      dilations=_spatial(node.attrs.get("dilations"), nhwc),
                      padding="SAME" if padding == "SAME" else "EXPLICIT",
                      pads=pads if padding == "EXPLICIT" else (0, 0, 0, 0))  # fmt: skip
    if kernel is None:
        raise UnsupportedGraph(f"no kernel for {node.op} {node.name!r}")
    return _Step(node.op, node.name, kernel, args, static)


def _nhwc(node: GraphNode) -> bool:
    data_format = node.attrs.get("data_format") or "NHWC"
    if data_format not in ("NHWC", "NCHW"):
        raise UnsupportedGraph(f"{node.op} {node.name!r} has data_format {data_format!r}")
    return data_format == "NHWC"


def _spatial(values: list[int] | None, nhwc: bool) -> tuple[int, int]:
    """The two spatial entries of a strides/ksize/dilations list, which is in data_format order."""
    if not values:
        return 1, 1
    if values[0] != 1 or values[3 if nhwc else 1] != 1:
        raise UnsupportedGraph(f"strides, sizes or dilations across batch or channels: {values}")
    return (values[1], values[2]) if nhwc else (values[2], values[3])


def _run(step: _Step, values: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    result = step.kernel(*values, **step.static)
    return result if isinstance(result, tuple) else (result,)


def _readers(steps: list[_Step], outputs: list[Key]) -> dict[Key, int]:
    """How many times each tensor is read, the graph's outputs counting as readers."""
    counts: dict[Key, int] = {}
    for key in [arg for step in steps for arg in step.args] + outputs:
        counts[key] = counts.get(key, 0) + 1
    return counts


def _fuse_bias(steps: list[_Step], constants: dict[Key, torch.Tensor], outputs: list[Key]) -> list[_Step]:
    """Conv2D followed by the Add of a per-channel constant becomes one convolution with a bias."""
    readers = _readers(steps, outputs)
    by_out = {step.out: step for step in steps}
    removed: set[int] = set()
    for index, add in enumerate(steps):
        computed = [key for key in add.args if key not in constants]
        if add.op not in ("Add", "AddV2") or len(computed) != 1 or len(add.args) != 2:
            continue
        conv = by_out.get(computed[0][0])
        if conv is None or conv.op != "Conv2D" or len(conv.args) != 2 or readers[computed[0]] != 1:
            continue
        bias = next(constants[key] for key in add.args if key in constants)
        channels = constants[conv.args[1]].shape[0]
        # Broadcast as TensorFlow does, the bias must run along the channels: (C,) for NHWC, (C, 1, 1) for NCHW.
        along = -1 if conv.static["nhwc"] else -3
        if bias.numel() != channels or bias.dim() > 4 or bias.dim() < -along or bias.shape[along] != channels:
            continue
        bias_key = (f"{conv.out}/bias", 0)
        constants[bias_key] = bias.float().reshape(channels)
        conv.args.append(bias_key)
        conv.out = add.out  # the convolution now gives what the Add gave
        removed.add(index)
    return [step for index, step in enumerate(steps) if index not in removed]


def _fuse_pad(steps: list[_Step], constants: dict[Key, torch.Tensor], outputs: list[Key]) -> list[_Step]:
    """A zero Pad of the height and width before a convolution, directly or through a Transpose
    (onnx-tf pads NCHW, then transposes to NHWC), becomes the convolution's own padding."""
    readers = _readers(steps, outputs)
    by_out = {step.out: step for step in steps}
    removed: set[str] = set()
    for conv in steps:
        if conv.op != "Conv2D" or conv.static["padding"] != "EXPLICIT":
            continue
        transpose = by_out.get(conv.args[0][0])
        perm = [0, 1, 2, 3]
        if transpose is not None and transpose.op == "Transpose" and readers[conv.args[0]] == 1:
            perm = transpose.static["perm"]
            pad = by_out.get(transpose.args[0][0])
            pad_key = transpose.args[0]
        else:
            pad, pad_key, transpose = transpose, conv.args[0], None
        if pad is None or pad.op not in ("Pad", "PadV2") or readers[pad_key] != 1:
            continue
        if pad.static.get("constant_value", 0) != 0 or len(pad.static["paddings"]) != 4:
            continue
        height, width = (perm[1], perm[2]) if conv.static["nhwc"] else (perm[2], perm[3])
        paddings = pad.static["paddings"]
        if any(paddings[dim] != [0, 0] for dim in range(4) if dim not in (height, width)):
            continue
        top, bottom, left, right = conv.static["pads"]
        conv.static["pads"] = (top + paddings[height][0], bottom + paddings[height][1],
                               left + paddings[width][0], right + paddings[width][1])  # fmt: skip
        if transpose is not None:
            transpose.args[0] = pad.args[0]
        else:
            conv.args[0] = pad.args[0]
        removed.add(pad.out)
    return [step for step in steps if step.out not in removed]


class TfjsGraph(nn.Module):
    """A TF.js graph model as a torch module: `forward(*inputs)` returns the signature's outputs.

    Computes in float32. A graph declared for a batch of one runs any batch size."""

    def __init__(self, spec: GraphSpec) -> None:
        super().__init__()
        unsupported = sorted({node.op for node in spec.nodes} - SUPPORTED_OPS)
        if unsupported:
            raise UnsupportedGraph(f"unsupported TF.js ops: {', '.join(unsupported)} "
                                   f"(supported: {', '.join(sorted(SUPPORTED_OPS))})")  # fmt: skip
        self.input_names = spec.inputs
        self.output_names = spec.outputs
        self.input_shapes = spec.input_shapes
        nodes = {node.name: node for node in spec.nodes}
        constants: dict[Key, torch.Tensor] = {}
        aliases: dict[Key, Key] = {}  # what Identity outputs pass on

        def resolve(key: Key) -> Key:
            while key in aliases:
                key = aliases[key]
            return key

        steps: list[_Step] = []
        for node in _topological(nodes, spec.outputs):
            inputs = [resolve(_ref(ref)) for ref in node.inputs]
            if node.op == "Const":
                value = spec.constants[node.name]
                constants[(node.name, 0)] = value.float() if value.is_floating_point() else value
            elif node.op == "Identity":
                aliases[(node.name, 0)] = inputs[0]
            elif node.op == "Placeholder":
                if node.name not in spec.inputs:
                    raise ValueError(f"placeholder {node.name!r} is not among the inputs {spec.inputs}")
            elif all(key in constants for key in inputs):
                # Known at load (NanoDet builds its Reshape targets this way): computed once, here.
                step = _plan(node, inputs, constants)
                for index, value in enumerate(_run(step, [constants[key] for key in step.args])):
                    constants[(node.name, index)] = value
            else:
                steps.append(_plan(node, inputs, constants))
        outputs = [resolve(_ref(ref)) for ref in spec.outputs]
        steps = _fuse_bias(steps, constants, outputs)
        steps = _fuse_pad(steps, constants, outputs)
        self._steps = steps
        self._outputs = outputs
        # Constants become buffers, so that .to(device) moves them; only those still read are kept.
        used = sorted({key for step in steps for key in step.args if key in constants} |
                      {key for key in outputs if key in constants})  # fmt: skip
        self._constant_keys: dict[Key, str] = {}
        for number, key in enumerate(used):
            self._constant_keys[key] = f"constant_{number}"
            self.register_buffer(f"constant_{number}", constants[key])
        # After its last reader, a tensor is dropped, so that memory follows the live tensors only.
        last_read: dict[Key, int] = {}
        for index, step in enumerate(steps):
            for key in step.args:
                last_read[key] = index
        self._dropped_after: list[list[Key]] = [[] for _ in steps]
        for key, index in last_read.items():
            if key not in self._constant_keys and key not in outputs:
                self._dropped_after[index].append(key)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.input_names):
            raise TypeError(f"the graph takes {len(self.input_names)} inputs ({', '.join(self.input_names)})")
        values: dict[Key, torch.Tensor] = {key: self._buffers[name] for key, name in self._constant_keys.items()}  # type: ignore[misc]
        for name, tensor in zip(self.input_names, inputs, strict=True):
            _check_shape(name, self.input_shapes.get(name, ()), tensor)
            values[(name, 0)] = tensor.float()
        for step, dropped in zip(self._steps, self._dropped_after, strict=True):
            for index, value in enumerate(_run(step, [values[key] for key in step.args])):
                values[(step.out, index)] = value
            for key in dropped:
                del values[key]
        return tuple(values[key] for key in self._outputs)

    def extra_repr(self) -> str:
        ops: dict[str, int] = {}
        for step in self._steps:
            ops[step.op] = ops.get(step.op, 0) + 1
        return f"inputs={list(self.input_names)}, outputs={list(self.output_names)}, steps={ops}"


def _check_shape(name: str, expected: tuple[int, ...], tensor: torch.Tensor) -> None:
    """The placeholder's shape, but for the batch: -1 entries match any size."""
    if not expected:
        return
    if tensor.dim() != len(expected) or any(
        want not in (-1, got) for want, got in zip(expected[1:], tensor.shape[1:], strict=False)
    ):
        raise ValueError(f"input {name!r} must have the shape {list(expected)} (any batch), not {list(tensor.shape)}")
