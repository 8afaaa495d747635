"""Classification of image-folder entries, folder fingerprints and the sensor's change plan."""

from __future__ import annotations

import os

from hm_pipeline.images.scan import (
    fingerprint_tree,
    folder_fingerprint,
    list_folders,
    plan_folder_changes,
    scan_folder,
)
from hm_pipeline_tests.image_fixtures import jpeg_bytes, png_bytes


def test_scan_folder_classifies_every_kind_of_bad_file(tmp_path):
    folder = tmp_path / "images" / "012"
    folder.mkdir(parents=True)
    good = jpeg_bytes(1)
    (folder / "0123456001.jpg").write_bytes(good)
    (folder / "0123456002.jpg").write_bytes(good[: len(good) // 2])  # truncated: caught at decode, not here
    (folder / "0123456003.jpg").write_bytes(b"")
    (folder / "0123456004.jpg").write_bytes(png_bytes(1))
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "0123456005.png").write_bytes(png_bytes(2))
    (folder / "12345.jpg").write_bytes(good)
    (folder / "0133456001.jpg").write_bytes(good)  # belongs in 013/
    (folder / "0129999999.jpg").write_bytes(good)  # not in articles
    (folder / "sub").mkdir()

    known = {"0123456001", "0123456002", "0123456003", "0123456004", "0133456001"}
    scan = scan_folder(folder, known)

    assert scan.folder == "012"
    assert scan.article_ids == ["0123456001", "0123456002"]
    assert [os.path.basename(p) for p in scan.paths] == ["0123456001.jpg", "0123456002.jpg"]
    reasons = {s.name: s.reason for s in scan.skipped}
    assert reasons["0123456003.jpg"].startswith("empty file")
    assert reasons["0123456004.jpg"] == "not a JPEG: PNG data in a .jpg file"
    assert reasons[".DS_Store"].startswith("hidden/system file")
    assert reasons["0123456005.png"] == "not a .jpg file"
    assert "10-digit article id" in reasons["12345.jpg"]
    assert reasons["0133456001.jpg"].startswith("wrong folder: article 0133456001 belongs in 013/")
    assert reasons["0129999999.jpg"].startswith("unknown article 0129999999")
    assert reasons["sub"] == "not a regular file"
    assert len(scan.skipped) == 8


def test_without_known_articles_every_wellformed_name_is_kept(tmp_path):
    folder = tmp_path / "012"
    folder.mkdir()
    (folder / "0129999999.jpg").write_bytes(jpeg_bytes(0))
    assert scan_folder(folder).article_ids == ["0129999999"]


def test_list_folders_keeps_only_0xx_directories(tmp_path):
    for name in ("010", "011", "abc", "1234", "099"):
        (tmp_path / name).mkdir()
    (tmp_path / "012").write_text("a file, not a folder")
    assert list_folders(tmp_path) == ["010", "011", "099"]
    assert list_folders(tmp_path / "missing") == []


def test_fingerprint_changes_on_add_remove_and_rewrite(tmp_path):
    folder = tmp_path / "010"
    folder.mkdir()
    (folder / "0100000001.jpg").write_bytes(jpeg_bytes(0))
    first = folder_fingerprint(folder)
    assert folder_fingerprint(folder) == first

    (folder / "0100000002.jpg").write_bytes(jpeg_bytes(1))
    added = folder_fingerprint(folder)
    assert added != first

    os.utime(folder / "0100000002.jpg", ns=(1, 1))
    touched = folder_fingerprint(folder)
    assert touched != added

    (folder / "0100000002.jpg").unlink()
    assert folder_fingerprint(folder) != touched
    assert fingerprint_tree(tmp_path) == {"010": folder_fingerprint(folder)}


def test_plan_folder_changes():
    plan = plan_folder_changes(
        current={"010": "a", "011": "b2", "012": "c", "014": "e"},
        previous={"010": "a", "011": "b1", "013": "d"},
        partitions=["010", "011", "013", "014"],
    )
    assert plan.add == ["012"]
    assert plan.run == ["011", "012", "014"]  # changed, new, registered but never fingerprinted
    assert plan.delete == ["013"]
    assert plan_folder_changes({"010": "a"}, {"010": "a"}, ["010"]).run == []
