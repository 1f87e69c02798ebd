"""Readers: every item of every format comes out once, in offset order; a bad item is an
error item (never skipped); an unusable input as a whole is a ScanInputError."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tests.scan.conftest import write_jsonl

from aupguard.scan.models import ItemKind
from aupguard.scan.readers import ScanInputError, open_reader


def test_jsonl_items_errors_and_offsets(prompts_file: Path) -> None:
    items = list(open_reader(prompts_file).items())
    assert [i.offset for i in items] == list(range(7))
    assert items[0].id == "harmless" and items[0].text and items[0].error is None
    assert items[5].error_code == "bad_record" and "line 6 is not JSON" in (items[5].error or "")
    assert items[6].error_code == "missing_field"
    assert open_reader(prompts_file).count() == 7


def test_jsonl_prompt_field_strings_bad_utf8_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"prompt": "a cat", "id": 3}\n\n"just a string"\n{"text": 5}\n\xff\xfe\n[1, 2]\n'
    )
    items = list(open_reader(path).items())
    assert [i.offset for i in items] == [0, 2, 3, 4, 5]  # the blank line is no item
    assert (items[0].text, items[0].id) == ("a cat", "3")
    assert items[1].text == "just a string"
    assert items[2].error_code == "bad_field"
    assert items[3].error_code == "bad_encoding"
    assert items[4].error_code == "bad_record"


def test_jsonl_custom_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": "ignored", "caption": "used"}, {"x": 1}])
    items = list(open_reader(path, field="caption").items())
    assert items[0].text == "used"
    assert items[1].error == "no field 'caption' in this record"


def test_csv_rows_and_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b'id,prompt\n1,"hello, world"\n2,"two\nlines"\n3,\xff\n')
    items = list(open_reader(path).items())
    assert [(i.offset, i.id, i.text) for i in items[:2]] == [
        (0, "1", "hello, world"),
        (1, "2", "two\nlines"),
    ]
    assert items[2].error_code == "bad_encoding"
    assert open_reader(path).count() == 3


def test_csv_without_the_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(ScanInputError, match="no column 'text' or 'prompt'"):
        list(open_reader(path).items())


def test_parquet_rows_nulls_and_ids(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow", reason="Parquet needs the 'scan' extra (pyarrow)")
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    table = pa.table({"id": [10, 11, 12], "text": ["one", None, "three"], "other": [1, 2, 3]})
    pq.write_table(table, path, row_group_size=2)
    reader = open_reader(path)
    items = list(reader.items())
    assert reader.count() == 3
    assert [(i.offset, i.id, i.text) for i in items] == [
        (0, "10", "one"),
        (1, "11", None),
        (2, "12", "three"),
    ]
    assert items[1].error_code == "bad_field"


def test_not_parquet_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="Parquet needs the 'scan' extra (pyarrow)")
    path = tmp_path / "fake.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(ScanInputError, match=r"cannot read .* as Parquet"):
        list(open_reader(path).items())


def test_image_folder_sorted_recursive_images_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "sub" / "a.JPG", format="JPEG")
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    items = list(open_reader(tmp_path).items())
    assert [i.id for i in items] == ["b.png", "sub/a.JPG"]
    assert all(i.kind is ItemKind.IMAGE for i in items)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(ScanInputError, match="unknown input format"):
        open_reader(tmp_path / "a.xlsx")
    with pytest.raises(ScanInputError, match="does not exist"):
        open_reader(tmp_path / "missing.jsonl")
