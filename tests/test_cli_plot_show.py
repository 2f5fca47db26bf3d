"""`digitnet plot`, `show`, `presets` and `evaluate` as a user meets them: history files that are
not what `digitnet train` writes, the bundled model without a history, option ranges, picture
formats, and tables whose columns line up."""

from __future__ import annotations

import json
import math
import re

import pytest
from conftest import assert_one_line_error, run_cli
from PIL import Image

from digitnet.artifacts.history import read_history
from digitnet.cli.evaluate_cmd import format_report
from digitnet.cli.plot_cmd import MAX_COUNT, prediction_count
from digitnet.errors import DataError
from digitnet.predict import default_model_path
from digitnet.training.presets import PRESETS
from digitnet.training.trainer import History

DEFAULT_MODEL = str(default_model_path())


def _write_json(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"step_losses":["a","b"],"epochs":[]}', 'step_losses[0] is "a", not a number'),
        ('{"step_losses":[1],"epochs":[{"epoch":"x"}]}', 'epochs[0].epoch is "x", not a whole'),
        ('{"step_losses":[1],"epochs":"zz"}', 'epochs is "zz", not a list'),
        ('{"step_losses":5}', "step_losses is 5, not a list of numbers"),
        ('{"step_losses":[null]}', "step_losses[0] is null, not a number"),
        ('{"step_losses":[true]}', "step_losses[0] is true, not a number"),
        ('{"step_losses":[-1]}', "step_losses[0] is -1, not a cost"),
        ('{"step_losses":[1e308]}', "step_losses[0] is 1e+308, not a cost"),
        ('{"step_losses":[1' + "0" * 400 + "]}", "too large a number"),
        ('{"step_losses":[],"epochs":[3]}', "epochs[0] is 3, not an object"),
        ('{"step_losses":[],"epochs":[{"epoch":NaN}]}', "epochs[0].epoch is NaN"),
        ('{"step_losses":[],"epochs":[{"step":1.5}]}', "epochs[0].step is 1.5"),
        ('{"step_losses":[],"epochs":[{"val_accuracy":95}]}', "not a fraction from 0 to 1"),
        ('{"step_losses":[],"epochs":[{"train_loss":"1"}]}', 'train_loss is "1", not a number'),
        ('{"step_losses":[],"epochs":[{"seconds":[]}]}', "epochs[0].seconds is [], not a"),
        ('{"step_losses":["' + "x" * 500 + '"]}', 'is "xxxxxxxx'),
    ],
)
def test_read_history_names_the_file_and_the_first_problem(tmp_path, text, problem):
    path = _write_json(tmp_path / "h.json", text)
    with pytest.raises(DataError) as raised:
        read_history(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a valid history file: ") and problem in message
    assert "\n" not in message and len(message) < 200 + len(str(path))


def test_read_history_accepts_what_training_writes_and_the_plot_draws_it(tmp_path):
    from digitnet import plots

    history = History(
        step_losses=[2.3, 1.0, 3.4e38, 1e-45, 0.0],
        epochs=[
            {"epoch": 1, "step": 2, "train_loss": math.nan, "learning_rate": 0.1, "seconds": 0.5},
            {"epoch": 2, "step": 5, "train_loss": 0.5, "val_loss": math.inf, "val_accuracy": 1},
        ],
    )
    path = _write_json(tmp_path / "m.history.json", json.dumps(history.to_dict()))
    read = read_history(path)
    assert read["step_losses"] == history.step_losses
    with Image.open(plots.plot_history(read, tmp_path / "m.cost.png")) as image:
        assert image.format == "PNG" and image.size[0] > 1000


def test_plot_malformed_history_is_one_line_naming_the_file(tmp_path):
    history = _write_json(tmp_path / "h.json", '{"step_losses":["a","b"],"epochs":[]}')
    result = run_cli(
        "plot", "--kind", "history", "--history", str(history), "--out-dir", str(tmp_path)
    )
    assert_one_line_error(result, "h.json", 'step_losses[0] is "a", not a number')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.json"]


def test_plot_count_is_bounded_by_what_the_grid_can_show(tmp_path):
    assert prediction_count("1") == 1 and prediction_count(str(MAX_COUNT)) == MAX_COUNT
    for count in ("0", str(MAX_COUNT + 1), "10000"):
        result = run_cli("plot", "--kind", "predictions", "--count", count)
        assert result.returncode == 2, result.stderr
        assert f"expected a number from 1 to {MAX_COUNT}, got {count}" in result.stderr


def test_plot_history_of_the_bundled_model_says_it_has_none(tmp_path):
    result = run_cli("plot", "--kind", "history", "--out-dir", str(tmp_path))
    assert_one_line_error(
        result, "no cost curve", "bundled default model ships without a history file", "train"
    )
    assert list(tmp_path.iterdir()) == []


def test_plot_history_of_a_model_without_one_says_where_it_looked(tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(default_model_path().read_bytes())
    result = run_cli("plot", str(model), "--kind", "history")
    assert_one_line_error(result, "no cost curve", "m.npz has no history file", "m.history.json")


@pytest.mark.slow
def test_plot_of_the_bundled_model_notes_the_skipped_cost_curve(tmp_path, mnist):
    test_csv = tmp_path / "test.csv"
    rows = [
        f"{label}," + ",".join(map(str, image.ravel()))
        for image, label in zip(mnist.test_images[:10], mnist.test_labels[:10])
    ]
    test_csv.write_text("\n".join(rows) + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("plot", "--count", "1", "--test-csv", str(test_csv), "--out-dir", str(out_dir))
    assert result.returncode == 0, result.stderr
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("digitnet: note: skipped the cost curve: ")
    assert "bundled default model ships without a history file" in notes[0]
    assert "`digitnet train" in notes[0]
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == [
        f"default.{kind}.png"
        for kind in ("confusion", "mistakes", "predictions", "reliability", "weights")
    ]


def test_show_refuses_a_negative_index_with_the_valid_range():
    result = run_cli("show", "--index", "-1", "--no-plot")
    assert_one_line_error(result, "--index -1 is out of range", "(0 to 9999)")


@pytest.mark.parametrize(("name", "magic"), [("four.jpg", b"\xff\xd8\xff"), ("four.pdf", b"%PDF")])
def test_show_writes_the_format_its_out_suffix_names(tmp_path, name, magic):
    result = run_cli("show", "--index", "4", "--out", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_bytes().startswith(magic)
    if name.endswith(".jpg"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "JPEG" and image.size == (900, 400)


def test_show_json_writes_a_picture_only_when_out_names_one(tmp_path):
    result = run_cli("show", "--index", "4", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["png"] is None
    assert list(tmp_path.iterdir()) == []
    named = run_cli("show", "--index", "4", "--json", "--out", "four.png", cwd=tmp_path)
    assert json.loads(named.stdout)["png"] == "four.png"
    assert (tmp_path / "four.png").stat().st_size > 1000


def test_show_refuses_a_picture_format_it_cannot_write(tmp_path):
    result = run_cli("show", "--index", "4", "--out", str(tmp_path / "four.bmp"))
    assert_one_line_error(result, "four.bmp", "cannot write a .bmp figure", ".png, .jpg")
    assert list(tmp_path.iterdir()) == []
    # before any work: the format is the error even where the data would have failed later
    late = run_cli("show", "--index", "4", "--out", "x.bmp", "--data-dir", str(tmp_path / "no"))
    assert_one_line_error(late, "cannot write a .bmp figure")


def test_show_terminal_and_picture_give_the_same_percentage(tmp_path):
    """Test image 4 gets p = 0.99992 from the bundled model: rounding would print 100.0% in
    the terminal while the figure says 99.9%; both must say 99.9%."""
    svg = tmp_path / "four.svg"
    result = run_cli("show", "--index", "4", "--out", str(svg))
    assert result.returncode == 0, result.stderr
    assert "  4:99.9%  " in result.stdout
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text
    assert "<!-- 99.9% -->" in text  # matplotlib keeps each text as a comment above its glyphs
    assert "<!-- 100.0% -->" not in text


def test_evaluate_refuses_a_plot_format_before_evaluating(tmp_path):
    result = run_cli("evaluate", DEFAULT_MODEL, "--plot", str(tmp_path / "c.gif"))
    assert_one_line_error(result, "c.gif", "cannot write a .gif figure")
    missing = str(tmp_path / "missing.npz")  # checked first: no model is even loaded
    assert_one_line_error(run_cli("evaluate", missing, "--plot", "c.gif"), "cannot write a .gif")


def test_evaluate_prints_every_score_as_a_percentage_in_aligned_columns():
    report = {
        "accuracy": 0.5,
        "loss": 0.7,
        "confusion": [[1, 1], [0, 2]],
        "per_class": [
            {"digit": 0, "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
            {"digit": 1, "precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2},
        ],
    }
    lines = format_report(report, "heading").splitlines()
    header, rows = lines[3], lines[4:6]
    assert header.split() == ["digit", "precision", "recall", "f1", "support"]
    assert rows[0].split() == ["0", "100.00%", "50.00%", "66.67%", "2"]
    assert rows[1].split() == ["1", "66.67%", "100.00%", "80.00%", "2"]
    for row in rows:
        assert _right_edges(row) == _right_edges(header), (header, row)


def test_presets_columns_fit_the_longest_name():
    result = run_cli("presets")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    starts = [line for line in lines if not line.startswith(" ")]
    assert [line.split()[0] for line in starts] == list(PRESETS)
    column = {line.index(PRESETS[line.split()[0]].architecture) for line in starts}
    indents = {len(line) - len(line.lstrip()) for line in lines if line.startswith(" ")}
    assert len(column) == 1 and indents == column, (column, indents)
    origin_column = {list(re.finditer(r"\S+", line))[1].start() for line in starts}
    assert len(origin_column) == 1, origin_column


def _right_edges(line: str) -> list[int]:
    return [match.end() for match in re.finditer(r"\S+", line)]
