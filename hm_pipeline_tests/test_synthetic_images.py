"""Generated photos decode, have the configured size, and visual similarity follows colour, pattern and type."""

from __future__ import annotations

import numpy as np
from PIL import Image

from hm_pipeline.data.synthetic.images import render
from hm_pipeline.data.synthetic.taxonomy import build_taxonomy

from .synthetic_fixtures import tiny_data  # noqa: F401


def _articles(out):
    import pyarrow.csv as pacsv

    return pacsv.read_csv(out / "articles.csv", convert_options=pacsv.ConvertOptions(
        column_types={"article_id": "string"})).to_pandas()


def test_images_decode_with_size_and_colour(tiny_data):
    out, _ = tiny_data
    arts = _articles(out).set_index("article_id")
    tax = build_taxonomy()
    rgb = dict(zip(tax.colour_code.tolist(), tax.colour_rgb.tolist()))
    files = sorted((out / "images").rglob("*.jpg"))
    background = np.array([238, 236, 232], dtype=np.float32)
    checked = 0
    for f in files:
        with Image.open(f) as im:
            assert im.format == "JPEG" and im.size == (64, 96) and im.mode == "RGB"
            px = np.asarray(im, dtype=np.float32)
        row = arts.loc[f.stem]
        colour = np.array(rgb[int(row["colour_group_code"])], dtype=np.float32)
        if row["graphical_appearance_name"] != "Solid" or np.abs(colour - background).sum() < 60:
            continue
        fg = px[np.abs(px - background).sum(axis=2) > 40]
        assert len(fg) > 50, f.name
        assert np.abs(np.median(fg, axis=0) - colour).sum() < 45, f.name
        checked += 1
    assert checked >= 50


def test_similarity_follows_colour_pattern_and_type():
    tax = build_taxonomy()
    rgb = {name: tax.colour_rgb[i] for i, name in enumerate(tax.colour_name)}
    rng = np.random.default_rng(0)

    def img(colour, shape="top", kind="solid"):
        return render(rgb[colour], shape, kind, (64, 96), rng).astype(np.float32)

    def dist(a, b):
        return float(np.abs(a - b).mean())

    same_colour = [dist(img("Red"), img("Red")), dist(img("Dark Blue"), img("Dark Blue"))]
    other_colour = [dist(img("Red"), img("Dark Blue")), dist(img("Light Pink"), img("Black"))]
    assert max(same_colour) < min(other_colour)
    assert dist(img("Red", kind="stripe"), img("Red", kind="stripe")) < dist(img("Red", kind="stripe"),
                                                                             img("Red", kind="dot"))
    assert dist(img("Black", "trousers"), img("Black", "trousers")) < dist(img("Black", "trousers"),
                                                                           img("Black", "dress"))


def test_custom_image_size(tmp_path):
    from hm_pipeline.data.synthetic.images import FolderTask, render_folder

    task = FolderTask(tmp_path / "images" / "012", ("0123456001", "0123456002"),
                      np.array([[200, 20, 30], [20, 20, 22]], dtype=np.uint8), ("dress", "shoe"), ("solid", "check"),
                      (40, 60), 1)
    assert render_folder(task) == 2
    with Image.open(tmp_path / "images" / "012" / "0123456002.jpg") as im:
        assert im.size == (40, 60)
