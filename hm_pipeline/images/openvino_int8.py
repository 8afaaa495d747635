"""The int8 embedding path: the ResNet50V2 Keras model converted to OpenVINO and quantized with NNCF
(post-training, 8-bit weights and activations), cached on disk per (weights, image size).

Calibration is data-independent, so the cached model is a function of the weights and size alone (re-running
gives the same embeddings whichever partition converted first): `CALIBRATION_SIZE` photos drawn by the synthetic
generator (every product silhouette × pattern, taxonomy colours, fixed seed), preprocessed like real photos.
Faithfulness to fp32 is checked on real and generated photos in `test_images_precision.py`.

OpenVINO and NNCF are imported only inside these functions (the embedding step); they are the `int8` extra
(`pip install -e ".[int8]"`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_SIZE = 128
CALIBRATION_SEED = 18
CACHE_VERSION = 1  # bump when the conversion or the calibration changes: old cached models are then ignored


def cached_model_dir(cache_dir: Path, weights_used: str, image_size: int) -> Path:
    """`<cache>/hm_pipeline/resnet50v2-<weights>-<size>px-int8-v<N>/` (holds model.xml + model.bin)."""
    tag = re.sub(r"[^a-z0-9]+", "", weights_used.lower())  # "random(seed=3)" -> "randomseed3"
    return cache_dir / "hm_pipeline" / f"resnet50v2-{tag}-{image_size}px-int8-v{CACHE_VERSION}"


def calibration_images(image_size: int, count: int = CALIBRATION_SIZE) -> np.ndarray:
    """(count, size, size, 3) uint8 photos drawn by the generator: silhouettes × patterns × colours, seeded."""
    from hm_pipeline.data.synthetic.images import PATTERNS, SHAPES, render
    from hm_pipeline.data.synthetic.taxonomy import build_taxonomy

    colours = build_taxonomy().colour_rgb
    rng = np.random.default_rng(CALIBRATION_SEED)
    out = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    for i in range(count):
        shape, kind = SHAPES[i % len(SHAPES)], PATTERNS[(i // len(SHAPES)) % len(PATTERNS)]
        out[i] = render(colours[rng.integers(len(colours))], shape, kind, (image_size, image_size), rng)
    return out


def _require_openvino() -> None:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"precision 'int8' needs OpenVINO and NNCF: pip install -e '.[int8]' ({exc})") from exc


def quantize(keras_model: Any, calibration: np.ndarray, target: Path) -> None:
    """Convert `keras_model` to OpenVINO, quantize it on `calibration` (preprocessed float32 images) and save it
    to the folder `target`, written beside it and renamed into place (never half-written)."""
    import nncf
    import openvino as ov

    size = calibration.shape[1]
    model = ov.convert_model(keras_model, input=[(-1, size, size, 3)])
    dataset = nncf.Dataset(range(len(calibration)), lambda i: calibration[i : i + 1])
    quantized = nncf.quantize(model, dataset, subset_size=len(calibration), preset=nncf.QuantizationPreset.PERFORMANCE)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        ov.save_model(quantized, str(tmp / "model.xml"))
        try:
            tmp.rename(target)
        except OSError:  # another process cached it first: keep theirs (same inputs, same model)
            if not (target / "model.xml").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def compile_cached(
    model_dir: Path, build: Callable[[Path], None], threads: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A batch -> float32 embeddings function running the cached int8 model, calling `build(model_dir)` first
    when the cache is empty."""
    _require_openvino()
    import openvino as ov

    if not (model_dir / "model.xml").exists():
        build(model_dir)
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(model_dir / "model.xml"), "CPU", config)
    request = compiled.create_infer_request()
    output = compiled.outputs[0]

    def predict(images: np.ndarray) -> np.ndarray:
        return np.array(request.infer({0: np.ascontiguousarray(images, dtype=np.float32)})[output], dtype=np.float32)

    return predict
