"""Classification of image-folder entries, folder fingerprints and the sensor's change plan."""

from __future__ import annotations

import os

from hm_pipeline.images.scan import (
    fingerprint_tree,
    folder_fingerprint,
    list_folders,
    plan_folder_changes,
    scan_folder,
    scan_tree,
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
    assert reasons["0123456005.png"] == "not a .jpg file (.png)"
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


def test_upper_case_extension_is_skipped_with_the_true_reason(tmp_path):
    folder = tmp_path / "images" / "012"
    folder.mkdir(parents=True)
    (folder / "0123456001.JPG").write_bytes(jpeg_bytes(1))
    (folder / "0123456002.Jpg").write_bytes(jpeg_bytes(2))
    scan = scan_folder(folder)
    assert scan.article_ids == []
    assert {s.name: s.reason for s in scan.skipped} == {
        "0123456001.JPG": "extension .JPG is not lower-case .jpg (the Kaggle layout; rename the file to use it)",
        "0123456002.Jpg": "extension .Jpg is not lower-case .jpg (the Kaggle layout; rename the file to use it)",
    }


def test_scan_tree_names_every_entry_it_leaves_out(tmp_path):
    images = tmp_path / "root" / "input" / "images"
    for name in ("010", "abc", "1000", "10", ".cache"):
        (images / name).mkdir(parents=True)
    (images / "0100000001.jpg").write_bytes(jpeg_bytes(1))
    outside = tmp_path / "elsewhere" / "011"
    outside.mkdir(parents=True)
    (images / "011").symlink_to(outside)
    (images / "012").symlink_to(images / "010")  # a link that stays inside is followed
    (images / "013").symlink_to(images / "013")  # loop
    tree = scan_tree(images)
    assert tree.folders == ["010", "012"] == list_folders(images)
    reasons = {s.name: s.reason for s in tree.skipped}
    assert set(reasons) == {"abc/", "1000/", "10/", ".cache/", "0100000001.jpg", "011/", "013"}
    assert reasons["1000/"].startswith("folder name has 4 digit(s)")
    assert reasons["10/"].startswith("folder name has 2 digit(s)")
    assert reasons["abc/"].startswith("folder name is not 0 and two digits")
    assert reasons["0100000001.jpg"].startswith("file directly in the image root")
    assert reasons["011/"] == f"symbolic link to {outside}, outside the image root {images}: not followed"
    assert "loop" in reasons["013"]
    assert "011" not in fingerprint_tree(images)


def test_scan_folder_does_not_follow_links_out_of_the_image_root(tmp_path):
    images = tmp_path / "images"
    folder = images / "012"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg_bytes(1))
    (folder / "0123456001.jpg").symlink_to(secret)
    (folder / "0123456002.jpg").write_bytes(jpeg_bytes(2))
    (folder / "0123456003.jpg").symlink_to(folder / "0123456002.jpg")  # stays inside: followed
    scan = scan_folder(folder)
    assert scan.article_ids == ["0123456002", "0123456003"]
    assert [s.reason for s in scan.skipped] == [f"symbolic link to {secret}, outside the image root {images}: "
                                                 "not followed"]
    (images / "013").symlink_to(tmp_path / "other")  # the folder itself leads outside
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "0133456001.jpg").write_bytes(jpeg_bytes(3))
    linked = scan_folder(images / "013")
    assert linked.article_ids == [] and "outside the image root" in linked.skipped[0].reason
