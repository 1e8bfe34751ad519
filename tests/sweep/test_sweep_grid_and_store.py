"""Grid expansion, routing of grid names, and the JSON-lines store (exactly once, torn lines)."""

import json

import pytest

import layerkit as lk
from layerkit.sweep import ResultStore, expand_grid


def test_expand_grid_is_the_cartesian_product_first_name_slowest():
    cells = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert cells == [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]


def test_expand_grid_concatenates_a_list_of_grids_and_accepts_scalars_as_one_value():
    cells = expand_grid([{"a": [1, 2]}, {"a": 3, "b": [True]}])
    assert cells == [{"a": 1}, {"a": 2}, {"a": 3, "b": True}]


def test_expand_grid_turns_numpy_scalars_and_tuples_into_plain_json_values():
    np = pytest.importorskip("numpy")
    cells = expand_grid({"rate": np.array([0.5, 1.0]), "hidden": [(32, 16)]})
    assert cells == [{"rate": 0.5, "hidden": [32, 16]}, {"rate": 1.0, "hidden": [32, 16]}]
    assert type(cells[0]["rate"]) is float
    json.dumps(cells)  # every value survives JSON


@pytest.mark.parametrize(
    ("grid", "error", "message"),
    [
        ({"a": []}, lk.LayerkitValueError, "'a' has no values"),
        ({"a": [object()]}, lk.LayerkitTypeError, "stored as JSON"),
        ({"a": [float("nan")]}, lk.LayerkitValueError, "must be finite"),
        ("abc", lk.LayerkitTypeError, "grid must be a dict"),
        ([1, 2], lk.LayerkitTypeError, "grid must be a dict"),
        ([], lk.LayerkitValueError, "no cells"),
    ],
)
def test_expand_grid_refuses_bad_grids_naming_the_problem(grid, error, message):
    with pytest.raises(error, match=message):
        expand_grid(grid)


def test_store_keeps_one_record_per_key_and_reads_it_back(tmp_path):
    path = tmp_path / "sub" / "runs.jsonl"
    store = ResultStore(path)
    assert store.add({"key": "k1", "score": 1.0})
    assert not store.add({"key": "k1", "score": 2.0})
    assert store.add({"key": "k2", "score": float("nan")})
    again = ResultStore(path)
    assert len(again) == 2 and again.get("k1")["score"] == 1.0
    assert len(path.read_text().splitlines()) == 2


def test_store_ignores_a_torn_last_line_and_appends_after_it_on_a_new_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"key": "k1", "score": 1}) + "\n" + '{"key": "k2", "sco')
    store = ResultStore(path)
    assert len(store) == 1 and "k2" not in store
    store.add({"key": "k2", "score": 2})
    again = ResultStore(path)
    assert sorted(r["key"] for r in again) == ["k1", "k2"]


def test_store_starts_a_new_line_when_the_file_lacks_its_final_newline(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"key": "k1"}))
    store = ResultStore(path)
    store.add({"key": "k2"})
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k1", "k2"]


def test_store_refuses_a_non_path():
    with pytest.raises(lk.LayerkitTypeError, match="store must be a path"):
        ResultStore(3)
