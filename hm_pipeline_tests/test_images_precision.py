"""Faster embedding paths: int8 (OpenVINO + NNCF) and bf16 stay faithful to fp32 on real and generated photos;
the int8 model is cached per (weights, size); the device switch.

Random weights (seeded): ImageNet weights cannot be downloaded here, so faithfulness with them is not measured.
Throughput lives in bench/bench_images.py, not here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hm_pipeline.devices import GpuUnavailable, resolve_device
from hm_pipeline.images import faithfulness, openvino_int8
from hm_pipeline.images.embed import embed_images, load_model
from hm_pipeline.images.scan import scan_folder

from .synthetic_fixtures import tiny_data  # noqa: F401

SIZE = 224  # the default size: the faithfulness claim is about it
GENERATED_PHOTOS = 150


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("keras_home"))


def _photos(folders: list[Path], limit: int | None = None) -> tuple[list[str], list[str]]:
    scans = [scan_folder(p) for p in sorted(folders) if p.is_dir()]
    ids = [a for s in scans for a in s.article_ids][:limit]
    paths = [p for s in scans for p in s.paths][:limit]
    return ids, paths


def _embed_all(ids, paths, cache_dir, precisions=("fp32", "int8", "bf16")) -> dict[str, np.ndarray]:
    out = {}
    for precision in precisions:
        model = load_model("random", SIZE, 0, cache_dir, precision, "cpu")
        result = embed_images(ids, paths, model, batch_size=32)
        assert result.article_ids == ids and not result.skipped
        out[precision] = result.embeddings
    return out


def _assert_faithful(embeddings: dict[str, np.ndarray]) -> None:
    """Both meet the cosine rule (>= 0.99 per photo). The top-10 rule (>= 95% kept) is fragile with random weights,
    whose embeddings are nearly collinear: bf16 kept 0.995 of the real photos' lists but 0.947 of one generated
    set's, int8 0.916 of the real ones (bench/RESULTS.md) — which is why fp32 stays the default. The overlaps are
    held at >= 0.90 (bf16) and >= 0.85 (int8) so that a worse cast or quantization fails here."""
    bf16 = faithfulness.compare(embeddings["fp32"], embeddings["bf16"])
    assert bf16.cosine_min >= 0.99 and bf16.overlap_mean >= 0.90, bf16
    int8 = faithfulness.compare(embeddings["fp32"], embeddings["int8"])
    assert int8.cosine_min >= 0.99 and int8.overlap_mean >= 0.85, int8


def test_int8_and_bf16_are_faithful_on_the_real_photos(real_sample, cache_dir):
    ids, paths = _photos(list((real_sample / "images").iterdir()))
    assert len(ids) >= 100
    _assert_faithful(_embed_all(ids, paths, cache_dir))


def test_int8_and_bf16_are_faithful_on_generated_photos(tiny_data, cache_dir):  # noqa: F811
    out, _ = tiny_data
    ids, paths = _photos(list((out / "images").iterdir()), GENERATED_PHOTOS)
    assert len(ids) >= 100
    _assert_faithful(_embed_all(ids, paths, cache_dir))


def test_the_int8_model_is_converted_once_and_reused(cache_dir, real_sample):
    model_dir = openvino_int8.cached_model_dir(Path(cache_dir), "random(seed=0)", SIZE)
    assert (model_dir / "model.xml").is_file()  # written by the tests above (or now)
    ids, paths = _photos(list((real_sample / "images").iterdir()), 8)
    first = embed_images(ids, paths, load_model("random", SIZE, 0, cache_dir, "int8", "cpu")).embeddings
    calls = []
    predict = openvino_int8.compile_cached(model_dir, calls.append)
    from hm_pipeline.images.embed import image_dataset

    again = np.concatenate([predict(batch) for _, batch in image_dataset(paths, SIZE, 8)])
    assert calls == []  # the cache was used, not rebuilt
    np.testing.assert_array_equal(again, first)
    assert openvino_int8.cached_model_dir(Path(cache_dir), "random(seed=1)", SIZE) != model_dir
    assert openvino_int8.cached_model_dir(Path(cache_dir), "imagenet", 96) != model_dir


def test_calibration_photos_are_deterministic():
    a, b = openvino_int8.calibration_images(64, 20), openvino_int8.calibration_images(64, 20)
    assert a.shape == (20, 64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert len({x.tobytes() for x in a}) == 20


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="precision must be one of"):
        load_model("random", 64, 0, None, "fp8", "cpu")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "requested, gpu, supported, expected",
    [("cpu", True, True, "cpu"), ("auto", False, True, "cpu"), ("auto", True, True, "gpu"),
     ("auto", True, False, "cpu"), ("gpu", True, True, "gpu")],
)
def test_device_resolution(requested, gpu, supported, expected):
    assert resolve_device(requested, gpu, "x", gpu_supported=supported) == expected


def test_gpu_without_a_gpu_fails_clearly_and_auto_picks_the_cpu(cache_dir):
    with pytest.raises(GpuUnavailable, match="no CUDA GPU is visible"):
        resolve_device("gpu", False, "ALS")
    with pytest.raises(GpuUnavailable, match="no GPU implementation"):
        resolve_device("gpu", True, "int8 image embeddings", gpu_supported=False)
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu", False, "x")
    # this machine has no CUDA GPU (tensorflow-cpu, implicit without CUDA): the real switches
    with pytest.raises(GpuUnavailable, match="fp32 image embeddings"):
        load_model("random", 64, 0, cache_dir, "fp32", "gpu")
    assert load_model("random", 64, 0, cache_dir, "fp32", "auto").device == "cpu"


def test_als_gpu_switch_without_cuda():
    import implicit.gpu

    from hm_pipeline.training.als import AlsParams, new_model

    if implicit.gpu.HAS_CUDA:
        pytest.skip("a CUDA build of implicit is installed: the no-GPU path cannot be checked here")
    with pytest.raises(GpuUnavailable, match="ALS"):
        new_model(AlsParams(device="gpu"))
    assert type(new_model(AlsParams(device="auto"))).__module__.startswith("implicit.cpu")
