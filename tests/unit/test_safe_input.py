"""Hostile input from links, files and the command line: one clear line, bounded work (issue 22, points 2-4)."""

import base64
import json
import zlib

import pytest

from metalearn_core import analysis
from metalearn_core.cli import main
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.safe_input import (
    MAX_ID,
    InputError,
    check_label,
    inflate,
    json_depth,
    load_json,
    parse_id,
    read_text,
    try_parse_id,
)
from metalearn_core.session import config_to_token, token_to_config
from metalearn_core.sweeps.cli import read_space


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


# -- ids ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["²", "١٢", "99999999999999999999999", str(MAX_ID + 1), "0", "-3", "1e3", "", " ",
                                  "3,5", "0x10"])
def test_ids_outside_ascii_digits_or_sqlite_range_are_refused_with_a_message(text):
    with pytest.raises(InputError, match="not a run id"):
        parse_id(text)
    assert try_parse_id(text) is None


def test_ids_within_range_parse():
    assert parse_id("12") == 12 and parse_id(" 7 ") == 7 and parse_id(str(MAX_ID)) == MAX_ID
    assert try_parse_id(None) is None


def test_a_link_with_unicode_digits_keeps_only_real_ids():
    assert analysis.parse_run_ids("²,3,99999999999999999999999,3,5", {3: "a", 5: "b"}) == [3, 5]


# -- JSON ---------------------------------------------------------------------------------------
def test_deeply_nested_json_is_refused_before_the_parser_recurses():
    text = "[" * 100_000
    assert json_depth(text) == 100_000
    with pytest.raises(InputError, match="nested too deeply"):
        load_json(text, "the link")
    with pytest.raises(RecursionError):  # what the standard parser does with it, the fault this guards
        json.loads(text)


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth('{"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert load_json('["\\"[[[", 1]', "x") == ['"[[[', 1]


def test_oversized_json_is_refused():
    with pytest.raises(InputError, match="too large"):
        load_json("[" + "1," * 600_000 + "1]", "space.json")


def test_deep_config_link_gives_a_config_error_not_a_recursion_error():
    with pytest.raises(ConfigError, match="nested too deeply"):
        token_to_config(_token(b"[" * 100_000))


def test_a_link_that_inflates_to_megabytes_is_refused():
    bomb = _token(b" " * 92_000_000)  # deflates to about 90 KB: a 119 KB link held 92 MB
    assert len(bomb) < 200_000
    with pytest.raises(ConfigError, match="too large once unpacked"):
        token_to_config(bomb)


def test_damaged_and_cut_links_are_config_errors():
    good = config_to_token(RunConfig(name="fine"))
    assert token_to_config(good).name == "fine"
    for token in (good[: len(good) // 2], "!!!!", "AAAA"):
        with pytest.raises(ConfigError, match="link"):
            token_to_config(token)


def test_inflate_stops_at_the_cap():
    with pytest.raises(InputError, match="too large"):
        inflate(zlib.compress(b"x" * 2_000), max_bytes=1_000)
    assert inflate(zlib.compress(b"x" * 1_000), max_bytes=1_000) == b"x" * 1_000


# -- files ----------------------------------------------------------------------------------------
def test_reading_dev_zero_stops_at_the_cap():
    with pytest.raises(InputError, match="too large"):
        read_text("/dev/zero", max_bytes=10_000)


def test_cli_config_from_dev_zero_is_one_line(capsys):
    assert main(["train", "--config", "/dev/zero", "--save-config", "/dev/null"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: /dev/zero: too large")


def test_cli_config_nested_too_deeply_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    assert main(["train", "--config", str(deep)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {deep}: nested too deeply (more than 64 levels)"


def test_sweep_space_from_dev_zero_and_deep_file(tmp_path):
    with pytest.raises(ConfigError, match="too large"):
        read_space("/dev/zero", "base")
    deep = tmp_path / "space.json"
    deep.write_text("{\"a\":" * 200 + "1" + "}" * 200)
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_space(str(deep), "base")


# -- CLI ids and names ----------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["runs", "show"], ["runs", "delete"], ["runs", "cancel"],
                                     ["runs", "rename"], ["runs", "tag"], ["sweeps", "show"], ["sweeps", "cancel"]])
def test_cli_huge_or_unicode_ids_are_one_line_exit_2(home, capsys, command):
    extra = ["new name"] if command[-1] == "rename" else []
    for bad in ("99999999999999999999999", "²"):
        assert main([*command, bad, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and " id" in err[0], err


@pytest.mark.parametrize("name", ["two\nlines", "bell\a", "\x1b[31mred\x1b[0m", "tab\there", "sep\u2028x"])
def test_names_and_tags_with_control_characters_are_refused(home, capsys, name):
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name="plain"))
    assert main(["runs", "rename", str(run_id), name]) == 2
    assert "control characters" in capsys.readouterr().err
    assert main(["runs", "tag", str(run_id), "ok", name]) == 2
    assert "control characters" in capsys.readouterr().err
    assert store.get(run_id).name == "plain" and store.get(run_id).tags == []
    with pytest.raises(ConfigError, match="control characters"):
        RunConfig(name=name)
    with pytest.raises(InputError):
        check_label(name)


def test_ordinary_names_including_chinese_and_markdown_are_kept(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name="plain"))
    for name in ("元学习 第一次", "![t](http://host/t.png)", "a — b"):
        store.rename(run_id, name)
        assert store.get(run_id).name == name


def test_sweep_names_with_control_characters_are_refused():
    from metalearn_core.sweeps.config import SweepConfig

    with pytest.raises(ConfigError, match="control characters"):
        SweepConfig.from_dict({"name": "a\x1b[2Jb", "space": {"learning_rate": [0.001, 0.1]}})


def test_a_huge_integer_is_an_input_error():
    with pytest.raises(InputError, match="not valid JSON"):
        load_json("[" + "9" * 5000 + "]", "x")


def test_a_grid_of_millions_of_cells_is_refused():
    from metalearn_core.config import TrainingConfig
    from metalearn_core.sweeps.config import SweepConfig

    base = RunConfig(training=TrainingConfig(validation_split=0.1)).to_dict()
    space = {"batch_size": {"low": 1, "high": 8192, "step": 1, "log": False},
             "epochs": {"low": 1, "high": 500, "step": 1}}
    with pytest.raises(ConfigError, match="combinations"):
        SweepConfig.from_dict({"sampler": "grid", "space": space, "base": base})
    assert SweepConfig.from_dict({"sampler": "tpe", "space": space, "base": base}).sampler == "tpe"


def test_stored_json_of_the_wrong_type_reads_as_empty(home):
    import sqlite3

    store = RunStore(home)
    run_id = store.create_run(RunConfig(name="odd"))
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET summary = '[1, 2]', tags = '{\"a\": 1}', progress = '[' WHERE id = ?", (run_id,))
    run = store.get(run_id)
    assert run.summary == {} and run.tags == [] and run.progress == {} and run.test_accuracy is None
