"""ResNet50V2 image embeddings (the seed's `avg_pool` layer, 2048-d), batched through a tf.data pipeline.

TensorFlow is imported only inside the functions that need it (`import tensorflow` costs seconds): importing this
module is free. It is imported with oneDNN kernels on (see `import_tensorflow`).

The model is `ResNet50V2(include_top=False, pooling="avg")`. With `include_top=True` Keras builds the same backbone
followed by `GlobalAveragePooling2D(name="avg_pool")` and the `predictions` Dense layer; with `include_top=False,
pooling="avg"` it builds the same backbone followed by the same pooling layer, so the output equals the seed's
`get_layer('avg_pool').output` (checked with shared random weights in `test_images_embed.py`). The `notop` weights
file is the one Keras itself loads for that model.

Preprocessing follows the seed (RGB, squashed to `image_size`², `resnet_v2.preprocess_input`), except that the
resize is bilinear with antialiasing (the seed's `load_img` default is nearest-neighbour, which aliases).

Precision (`load_model(precision=...)`): "fp32" runs the Keras model (the reference); "bf16" a copy of it under
Keras' `mixed_bfloat16` policy (fast on GPUs and on CPUs with AVX512_BF16/AMX, no faster on AVX2-only CPUs);
"int8" the same weights converted to OpenVINO and quantized by NNCF (`openvino_int8`, CPU only). Device ("cpu",
"gpu", "auto"; see `hm_pipeline.devices`) places the Keras paths; the int8 path always runs on the CPU.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hm_pipeline.devices import resolve_device
from hm_pipeline.images import openvino_int8
from hm_pipeline.images.scan import Skipped

EMBEDDING_DIM = 2048
WEIGHTS_FILE = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/resnet/{WEIGHTS_FILE}"
WEIGHTS_MD5 = "fac2f116257151a9d068a22e544a4917"  # keras.applications.resnet.WEIGHTS_HASHES["resnet50v2"][1]

WeightsMode = Literal["imagenet", "random", "imagenet-or-random"]
WEIGHTS_MODES: tuple[str, ...] = ("imagenet", "random", "imagenet-or-random")
Precision = Literal["fp32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "int8")
DEFAULT_PRECISION = "fp32"  # int8 is 3x faster here but missed the top-10 rule on real photos (bench/RESULTS.md)


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights are neither in the Keras cache nor downloadable."""


@dataclass(frozen=True)
class EmbeddingModel:
    """A ready ResNet50V2 feature extractor and how its weights were obtained."""

    model: Any  # the fp32 Keras model (the reference; also what the other precisions were derived from)
    image_size: int
    weights_used: str  # "imagenet" or "random(seed=N)"
    warnings: tuple[str, ...] = ()
    precision: str = "fp32"
    device: str = "cpu"
    runner: Callable[[Any], np.ndarray] | None = None  # batch -> float32 [b, 2048]; None: the Keras model on CPU
    #: Model calls `embed_images` keeps in flight: 2 for the Keras paths (while one is between layers the other
    #: keeps the cores busy; results identical, tested), 1 for the int8 runner (one OpenVINO infer request).
    concurrent_calls: int = 1

    @property
    def is_random(self) -> bool:
        return self.weights_used.startswith("random")

    def predict(self, images: Any) -> np.ndarray:
        """Embeddings of one preprocessed batch (one model call)."""
        if self.runner is not None:
            return self.runner(images)
        return np.asarray(self.model.predict_on_batch(images), dtype=np.float32)


@dataclass
class EmbeddingResult:
    """Embeddings of the images that decoded (rows aligned with `article_ids`) and the images that did not."""

    article_ids: list[str]
    embeddings: np.ndarray  # float32 [n, 2048]
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return len(self.article_ids) / self.seconds if self.seconds > 0 else 0.0


def keras_cache_dir() -> Path:
    """Where Keras keeps downloads: `$KERAS_HOME`, else `~/.keras` (weights go to its `models/` subfolder)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def import_tensorflow() -> Any:
    """`tensorflow`, imported with its oneDNN CPU kernels on unless the user chose (`TF_ENABLE_ONEDNN_OPTS`).

    TensorFlow turns oneDNN on by default only on some Intel CPUs; elsewhere (e.g. this AMD EPYC) it runs its Eigen
    kernels, which cost more CPU per image for ResNet50V2 (bench_images.py, 150 photos: 24.0 s vs 17.9 s CPU at
    batch 32). The variable is read once, when TensorFlow is first imported: if something imported it before, its
    setting stays.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    return tf


def configure_tf_threads(threads: int | None = None) -> None:
    """Size TensorFlow's thread pools to the machine (default: all cores for ops, 2 for independent ops).

    Must run before TensorFlow executes anything; later calls are ignored (the pools are fixed by then).
    """
    tf = import_tensorflow()

    threads = threads or os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:
        pass  # runtime already initialised in this process


def cached_imagenet_weights(cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The ImageNet weights file if it is already in the Keras cache, else None (no download, no TensorFlow)."""
    path = (Path(cache_dir) if cache_dir else keras_cache_dir()) / "models" / WEIGHTS_FILE
    return path if path.is_file() else None


def fetch_imagenet_weights(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the ResNet50V2 `notop` ImageNet weights, downloaded into the Keras cache on first use.

    Raises `WeightsUnavailable` naming the file and where to put it when it is not cached and cannot be downloaded.
    """
    import_tensorflow()
    import keras

    cache = Path(cache_dir) if cache_dir else keras_cache_dir()
    target = cache / "models" / WEIGHTS_FILE
    try:
        return Path(
            keras.utils.get_file(
                WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models", cache_dir=str(cache), file_hash=WEIGHTS_MD5
            )
        )
    except Exception as exc:
        raise WeightsUnavailable(
            f"ImageNet weights for ResNet50V2 are not available: {WEIGHTS_FILE} is not in the Keras cache and could "
            f"not be downloaded ({exc}). Copy {WEIGHTS_URL} (md5 {WEIGHTS_MD5}) to {target} "
            f"(the Keras cache is $KERAS_HOME or ~/.keras), or set weights='random' for an offline demo."
        ) from exc


def _build(image_size: int, weights_path: Path | None, seed: int) -> Any:
    tf = import_tensorflow()

    configure_tf_threads()
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.applications.ResNet50V2(
        include_top=False, weights=None, pooling="avg", input_shape=(image_size, image_size, 3)
    )
    if weights_path is not None:
        model.load_weights(str(weights_path))
    return model


@lru_cache(maxsize=4)
def _reference_model(weights: str, image_size: int, seed: int, cache_dir: str | None) -> EmbeddingModel:
    """The fp32 Keras feature extractor for `weights` (see `load_model`), built once per process and argument set.

    - "imagenet": ImageNet weights from the Keras cache (downloaded once); `WeightsUnavailable` if impossible.
    - "random": seeded random weights, for tests and offline demos (embeddings carry no visual meaning).
    - "imagenet-or-random": ImageNet if available, else random with a warning in `EmbeddingModel.warnings`
      (also emitted as a Python warning), which callers must surface in logs and metadata.
    """
    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights must be one of {WEIGHTS_MODES}, got {weights!r}")
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 for ResNet50V2, got {image_size}")
    random_name = f"random(seed={seed})"
    if weights == "random":
        return EmbeddingModel(_build(image_size, None, seed), image_size, random_name)
    try:
        path = fetch_imagenet_weights(cache_dir)
    except WeightsUnavailable as exc:
        if weights == "imagenet":
            raise
        message = (
            f"FALLING BACK TO RANDOM WEIGHTS (seed={seed}): embeddings and SIMILAR relationships are NOT visually "
            f"meaningful. {exc}"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return EmbeddingModel(_build(image_size, None, seed), image_size, random_name, (message,))
    return EmbeddingModel(_build(image_size, path, seed), image_size, "imagenet")


@lru_cache(maxsize=8)
def load_model(
    weights: WeightsMode = "imagenet",
    image_size: int = 224,
    seed: int = 0,
    cache_dir: str | None = None,
    precision: Precision = "fp32",
    device: str = "cpu",
) -> EmbeddingModel:
    """The feature extractor for `weights` at `precision` on `device`, built once per process and argument set.

    weights:
    - "imagenet": ImageNet weights from the Keras cache (downloaded once); `WeightsUnavailable` if impossible.
    - "random": seeded random weights, for tests and offline demos (embeddings carry no visual meaning).
    - "imagenet-or-random": ImageNet if available, else random with a warning in `EmbeddingModel.warnings`
      (also emitted as a Python warning), which callers must surface in logs and metadata.
    precision: "fp32" (reference), "bf16" or "int8" (see the module docstring). The int8 model is converted once
    and cached under `cache_dir` (default: the Keras cache) per (weights, image size).
    device: "cpu", "gpu" (fails without a CUDA GPU, and for int8) or "auto".
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    base = _reference_model(weights, image_size, seed, cache_dir)
    gpu_present = device != "cpu" and bool(import_tensorflow().config.list_physical_devices("GPU"))
    placed = resolve_device(device, gpu_present, f"{precision} image embeddings", gpu_supported=precision != "int8")
    if precision == "int8":
        target = openvino_int8.cached_model_dir(Path(cache_dir or keras_cache_dir()), base.weights_used, image_size)

        def build(model_dir: Path) -> None:
            calibration = preprocess(openvino_int8.calibration_images(image_size), image_size)
            openvino_int8.quantize(base.model, np.asarray(calibration), model_dir)

        runner = openvino_int8.compile_cached(target, build, threads=os.cpu_count())
        concurrent = 1
    else:
        keras_model = _bf16_copy(base.model, image_size, placed) if precision == "bf16" else base.model
        runner, concurrent = _keras_runner(keras_model, placed), 2
    return EmbeddingModel(base.model, image_size, base.weights_used, base.warnings, precision, placed, runner,
                          concurrent)


def _keras_runner(model: Any, device: str) -> Callable[[Any], np.ndarray]:
    tf = import_tensorflow()

    def predict(images: Any) -> np.ndarray:
        with tf.device(f"/{device.upper()}:0"):
            return np.asarray(model.predict_on_batch(images), dtype=np.float32)

    return predict


def _bf16_copy(model: Any, image_size: int, device: str) -> Any:
    """The same network and weights with bfloat16 compute (`mixed_bfloat16`: float32 variables, bf16 arithmetic)."""
    tf = import_tensorflow()
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with tf.device(f"/{device.upper()}:0"):
            copy = keras.applications.ResNet50V2(
                include_top=False, weights=None, pooling="avg", input_shape=(image_size, image_size, 3)
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def _decode_failure_reason(path: str) -> str:
    """A specific reason for a file TensorFlow could not decode (asked of Pillow, only for the failures)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder error is the reason we report
        return f"corrupt JPEG: {exc}"
    return "corrupt JPEG: TensorFlow could not decode it"


def preprocess(images: Any, image_size: int) -> Any:
    """uint8 RGB image(s) -> the model's input: bilinear antialiased resize to `image_size`², `preprocess_input`."""
    tf = import_tensorflow()

    resized = tf.image.resize(images, (image_size, image_size), method="bilinear", antialias=True)
    return tf.keras.applications.resnet_v2.preprocess_input(resized)


#: Decoded batches kept ready ahead of the model (two model calls in flight, one more waiting).
PREFETCH_BATCHES = 3


def image_dataset(paths: Sequence[str], image_size: int, batch_size: int) -> Any:
    """tf.data pipeline: (row index, preprocessed image) batches; undecodable files are dropped (their index absent).

    Reads and decodes on every core (JPEG with the accurate integer DCT, as Pillow), resizes to `image_size`²,
    applies `resnet_v2.preprocess_input`, batches and prefetches so decoding overlaps the model.

    Parallelism and prefetch are fixed and tf.data's autotuning is off: with it on, destroying the iterator at the
    end of a slow consumer's loop blocked the caller, idle, for about as long as the loop had run (its tuning
    thread's sleep; measured in bench/RESULTS.md, "Embedding loop: cores used"). Decoding costs ~4% of the
    model's CPU, so there is nothing for it to tune.
    """
    tf = import_tensorflow()

    @tf.autograph.experimental.do_not_convert  # straight-line TensorFlow ops: nothing for AutoGraph to convert
    def decode(index: Any, path: Any) -> tuple[Any, Any]:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3, dct_method="INTEGER_ACCURATE")
        return index, preprocess(image, image_size)

    indices = np.arange(len(paths), dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((indices, np.asarray(paths, dtype=str)))
    ds = ds.map(decode, num_parallel_calls=os.cpu_count() or 1, deterministic=True)
    ds = ds.ignore_errors(log_warning=False)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.batch(batch_size).prefetch(PREFETCH_BATCHES).with_options(options)


def _predict_in_order(
    batches: Iterable[tuple[Any, Any]], predict: Callable[[Any], np.ndarray], in_flight: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row indices, embeddings) per batch in input order, with up to `in_flight` model calls running at once.

    The first call runs alone (it traces the model's function); each later batch is submitted as soon as one is
    decoded and fewer than `in_flight` calls are pending.
    """
    if in_flight <= 1:
        for index, images in batches:
            yield index.numpy(), predict(images)
        return
    pending: deque[tuple[np.ndarray, Future[np.ndarray]]] = deque()
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="embed") as pool:
        for calls, (index, images) in enumerate(batches):
            pending.append((index.numpy(), pool.submit(predict, images)))
            while pending and (calls == 0 or len(pending) >= in_flight):
                done_index, future = pending.popleft()
                yield done_index, future.result()
        while pending:
            done_index, future = pending.popleft()
            yield done_index, future.result()


def embed_images(
    article_ids: Sequence[str], paths: Sequence[str], model: EmbeddingModel, batch_size: int = 32
) -> EmbeddingResult:
    """Embed the images at `paths` in batches of `batch_size` (one model call per batch, never per image; up to
    `model.concurrent_calls` calls overlapped, each batch's result unchanged by it).

    Files that fail to decode are skipped with a reason; the others keep their input order.
    """
    if len(article_ids) != len(paths):
        raise ValueError(f"{len(article_ids)} article ids for {len(paths)} paths")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    start = time.perf_counter()
    kept: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    if len(paths):
        batches = image_dataset(paths, model.image_size, batch_size)
        for index, embeddings in _predict_in_order(batches, model.predict, model.concurrent_calls):
            kept.append(index)
            chunks.append(embeddings)
    seconds = time.perf_counter() - start
    rows = np.concatenate(kept) if kept else np.empty(0, dtype=np.int64)
    embeddings = np.concatenate(chunks) if chunks else np.empty((0, EMBEDDING_DIM), dtype=np.float32)
    failed = np.setdiff1d(np.arange(len(paths)), rows)
    skipped = [Skipped(Path(paths[i]).name, _decode_failure_reason(paths[i])) for i in failed]
    return EmbeddingResult([article_ids[i] for i in rows], embeddings, skipped, seconds)
