"""ONNX exports marked with the checkpoint they were made from (its sha256 under a key of the
export's metadata), so that an export left over from other weights is never run in their place.
Used by the NanoDet-m and the own detector's exports (pipeline/scan)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_marked(exported: Path, target: Path, key: str, source: Path) -> Path:
    """The ONNX file `exported`, marked as made from `source`, written whole to `target` (through
    a partial file, so that a crash never leaves a half-written export)."""
    import onnx  # only at install: the export needs it, running it needs onnxruntime alone

    model = onnx.load(str(exported))
    props = {prop.key: prop.value for prop in model.metadata_props}
    onnx.helper.set_model_props(model, {**props, key: file_sha256(source)})
    partial = target.with_name(target.name + ".partial")
    onnx.save(model, str(partial))
    partial.replace(target)
    return target


def marked_source(export: str | Path, key: str) -> str | None:
    """The sha256 `export` says it was made from, or None (no file, no mark, not an ONNX file)."""
    if not Path(export).is_file():
        return None
    try:
        import onnx

        model = onnx.load(str(export), load_external_data=False)
    except Exception:  # a truncated or foreign file
        return None
    return {prop.key: prop.value for prop in model.metadata_props}.get(key)
