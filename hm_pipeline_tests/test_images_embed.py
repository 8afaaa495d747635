"""ResNet50V2 embeddings: lazy TensorFlow import, weights handling, batching, bad images, the real photos."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import urllib.error

import numpy as np
import pytest

from hm_pipeline.images import embed
from hm_pipeline.images.embed import EMBEDDING_DIM, WEIGHTS_FILE, embed_images, load_model
from hm_pipeline.images.scan import scan_folder
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.image_fixtures import jpeg_bytes

SIZE = 64  # ResNet50V2 without its top accepts >= 32x32; 224 stays the default


@pytest.fixture(scope="module")
def random_model():
    return load_model("random", SIZE, 0)


def test_importing_the_image_modules_does_not_import_tensorflow():
    code = (
        "import sys; import hm_pipeline.images.embed, hm_pipeline.images.knn, hm_pipeline.images.scan, "
        "hm_pipeline.images.tables, hm_pipeline.defs.images; "
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_imagenet_offline_error_names_the_weights_file_and_cache_path(tmp_path, monkeypatch, random_model):
    """No network is simulated: the Keras download function is replaced by one that fails like a DNS error."""
    import keras.src.utils.file_utils as file_utils

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("simulated: no network")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    with pytest.raises(embed.WeightsUnavailable) as err:
        embed.fetch_imagenet_weights(tmp_path)
    message = str(err.value)
    assert WEIGHTS_FILE in message
    assert str(tmp_path / "models" / WEIGHTS_FILE) in message
    assert "weights='random'" in message

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with pytest.raises(embed.WeightsUnavailable, match=str(tmp_path / "home" / "models" / WEIGHTS_FILE)):
        load_model("imagenet", SIZE, 0)
    with pytest.warns(RuntimeWarning, match="FALLING BACK TO RANDOM WEIGHTS"):
        fallback = load_model("imagenet-or-random", SIZE, 5)
    assert fallback.is_random and fallback.weights_used == "random(seed=5)"
    assert not np.array_equal(fallback.model.get_weights()[0], random_model.model.get_weights()[0])  # the seed matters
    assert WEIGHTS_FILE in fallback.warnings[0]


def test_unknown_weights_mode_is_rejected():
    with pytest.raises(ValueError, match="weights must be one of"):
        load_model("resnet", SIZE, 0)  # type: ignore[arg-type]


def test_batched_equals_one_at_a_time_and_bad_jpegs_are_skipped(tmp_path, random_model):
    folder = tmp_path / "010"
    folder.mkdir()
    ids = [f"010000{i:04d}" for i in range(7)]
    for i, a in enumerate(ids):
        (folder / f"{a}.jpg").write_bytes(jpeg_bytes(i, size=(50 + 7 * i, 80)))
    data = jpeg_bytes(99)
    (folder / "0100009999.jpg").write_bytes(data[: len(data) // 2])  # truncated
    scan = scan_folder(folder)

    batched = embed_images(scan.article_ids, scan.paths, random_model, batch_size=4)
    assert batched.article_ids == ids
    assert [(s.name, s.reason.split(":")[0]) for s in batched.skipped] == [("0100009999.jpg", "corrupt JPEG")]
    assert "truncated" in batched.skipped[0].reason
    assert batched.embeddings.shape == (7, EMBEDDING_DIM) and batched.embeddings.dtype == np.float32
    assert batched.images_per_second > 0

    singles = np.concatenate(
        [embed_images([a], [p], random_model, batch_size=1).embeddings for a, p in zip(ids, scan.paths[:7])]
    )
    np.testing.assert_allclose(batched.embeddings, singles, rtol=1e-4, atol=1e-5)


def test_seeded_random_weights_are_deterministic(tmp_path, random_model):
    (tmp_path / "0100000001.jpg").write_bytes(jpeg_bytes(1))
    paths = [str(tmp_path / "0100000001.jpg")]
    first = embed_images(["0100000001"], paths, random_model).embeddings
    rebuilt = embed.EmbeddingModel(embed._build(SIZE, None, 0), SIZE, "random(seed=0)")
    np.testing.assert_array_equal(embed_images(["0100000001"], paths, rebuilt).embeddings, first)


def test_pooled_notop_model_equals_the_seeds_avg_pool_layer():
    """The seed took `avg_pool` from the include_top=True model; we build include_top=False, pooling='avg'."""
    import tensorflow as tf

    top = tf.keras.applications.ResNet50V2(include_top=True, weights=None, input_shape=(SIZE, SIZE, 3))
    seed_model = tf.keras.Model(top.input, top.get_layer("avg_pool").output)
    ours = embed._build(SIZE, None, 3)
    ours.set_weights(top.get_weights()[: len(ours.get_weights())])  # same backbone, minus the Dense top
    x = np.random.default_rng(0).uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
    np.testing.assert_array_equal(ours.predict_on_batch(x), seed_model.predict_on_batch(x))


def test_real_sample_photos_embed_to_finite_vectors(real_sample, random_model):
    folders = sorted(p for p in (real_sample / "images").iterdir() if p.is_dir())
    scans = [scan_folder(f) for f in folders[:6]]
    ids = [a for s in scans for a in s.article_ids]
    paths = [p for s in scans for p in s.paths]
    assert len(ids) >= 10 and not any(s.skipped for s in scans)
    result = embed_images(ids, paths, random_model, batch_size=8)
    assert result.skipped == []
    assert result.embeddings.shape == (len(ids), EMBEDDING_DIM)
    assert np.isfinite(result.embeddings).all()
    assert len(np.unique(result.embeddings.round(5), axis=0)) == len(ids)  # distinct photos, distinct vectors


def test_image_dataset_does_not_autotune(tmp_path):
    """With tf.data's autotuning on, destroying the iterator after a slow model loop blocked the caller, idle, for
    about as long as the loop had run (bench/RESULTS.md, "Embedding loop: cores used")."""
    (tmp_path / "0100000001.jpg").write_bytes(jpeg_bytes(1))
    ds = embed.image_dataset([str(tmp_path / "0100000001.jpg")], SIZE, 4)
    assert ds.options().autotune.enabled is False


def test_two_model_calls_in_flight_give_the_one_at_a_time_embeddings_bit_for_bit(tmp_path, random_model):
    ids = [f"010000{i:04d}" for i in range(11)]
    for i, a in enumerate(ids):
        (tmp_path / f"{a}.jpg").write_bytes(jpeg_bytes(i, size=(40 + 5 * i, 70)))
    paths = [str(tmp_path / f"{a}.jpg") for a in ids]
    assert random_model.concurrent_calls == 2  # the Keras fp32 path overlaps two calls
    overlapped = embed_images(ids, paths, random_model, batch_size=2)
    one_at_a_time = embed_images(ids, paths, dataclasses.replace(random_model, concurrent_calls=1), batch_size=2)
    reference = np.concatenate([np.asarray(random_model.model.predict_on_batch(x)) for _, x in
                                embed.image_dataset(paths, SIZE, 2)])
    assert overlapped.article_ids == one_at_a_time.article_ids == ids
    np.testing.assert_array_equal(overlapped.embeddings, one_at_a_time.embeddings)
    np.testing.assert_array_equal(overlapped.embeddings, reference)


def test_predict_in_order_overlaps_calls_after_the_first_and_keeps_the_order():
    """Calls 2-3 and 4-5 each meet at a two-party barrier: it times out (BrokenBarrierError) unless they overlap."""
    import tensorflow as tf

    barrier, active, peak, lock = threading.Barrier(2, timeout=30), [0], [0], threading.Lock()

    def predict(batch):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if int(batch[0]) > 0:
            barrier.wait()
        with lock:
            active[0] -= 1
        return np.asarray(batch, dtype=np.float32)[:, None]

    batches = [(tf.constant([i]), tf.constant([i])) for i in range(5)]
    out = list(embed._predict_in_order(batches, predict, in_flight=2))
    assert [int(i[0]) for i, _ in out] == [0, 1, 2, 3, 4]
    assert [float(e[0, 0]) for _, e in out] == [0, 1, 2, 3, 4]
    assert peak[0] == 2


def test_bf16_with_two_calls_in_flight_equals_one_at_a_time(tmp_path):
    ids = [f"010000{i:04d}" for i in range(5)]
    for i, a in enumerate(ids):
        (tmp_path / f"{a}.jpg").write_bytes(jpeg_bytes(i))
    paths = [str(tmp_path / f"{a}.jpg") for a in ids]
    bf16 = load_model("random", SIZE, 0, None, "bf16", "cpu")
    assert bf16.concurrent_calls == 2
    overlapped = embed_images(ids, paths, bf16, batch_size=2).embeddings
    np.testing.assert_array_equal(
        overlapped, embed_images(ids, paths, dataclasses.replace(bf16, concurrent_calls=1), batch_size=2).embeddings)
