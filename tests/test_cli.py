"""The ``polynlu`` command on real files: its entry point in this process for most tests
(support.polynlu), a real process for what only a process shows (its exit on a user's
error, bytes on stdin) and for one joint model trained, parsed and scored end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import TINY, polynlu, polynlu_process


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "model"
    done = polynlu(
        "train", "--data", str(TINY), "--train-locales", "en-US,de-DE",
        "--output", str(folder), "--model", "baseline", "--hash-features", "4096", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Trained baseline on 96 utterances from 2 locale(s)" in done.stdout
    return folder


def test_evaluate_writes_the_report(model: Path, tmp_path: Path) -> None:
    done = polynlu(
        "evaluate", str(model), "--data", str(TINY), "--locales", "all",
        "--output", str(tmp_path / "eval"), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "average" in done.stdout and "ja-JP" in done.stdout
    names = sorted(p.name for p in (tmp_path / "eval").iterdir())
    assert names == [
        "exact_match_by_locale.png", "metrics.json", "predictions.jsonl", "report.md",
    ]  # fmt: skip
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["meta"]["train_locales"] == ["de-DE", "en-US"]


def test_parse_prints_json_and_reads_stdin(model: Path) -> None:
    done = polynlu("parse", str(model), "wake me up at six am", "--locale", "en-US", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["intent"] == "alarm_set" and result["locale"] == "en-US"
    lines = polynlu("parse", str(model), "-", stdin="turn the lights off\n\nwhat time is it\n")
    rows = [json.loads(line) for line in lines.stdout.splitlines()]
    # One output line per input line (issue 12): the blank line gets an error object.
    assert [row.get("text", row.get("error")) for row in rows] == [
        "turn the lights off", "the line is empty or only whitespace", "what time is it",
    ]  # fmt: skip
    readable = polynlu("parse", str(model), "wake me up at six am", "--locale", "en-US")
    assert "intent alarm_set" in readable.stdout


def test_stats_counts_partitions_and_labels() -> None:
    done = polynlu("data", "stats", str(TINY), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "Utterances per locale and partition (4 locales)" in done.stdout
    assert "Intents (6)" in done.stdout and "Scenarios" in done.stdout


def test_fetch_from_a_local_folder(tmp_path: Path) -> None:
    done = polynlu("data", "fetch", "massive", "--source", str(TINY))
    assert done.returncode == 0, done.stderr
    assert "4 locale files" in done.stdout
    again = polynlu("data", "stats", "massive", "--locales", "ja-JP", "--no-progress")
    assert again.returncode == 0 and "ja-JP" in again.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "stats", "/no/such/data"], "data '/no/such/data' not found"),
        (["evaluate", "/no/model", "--data", str(TINY), "--output", "x"], "not found"),
        (["data", "fetch", "imdb"], "only 'massive'"),
        (
            [
                "distill",
                *("--teacher", "t", "--data", "d", "--output", "o"),
                *("--start-from", "s", "--layers", "2"),
            ],
            "--layers cannot change a student given with --start-from",
        ),
    ],
)
def test_user_errors_are_one_line_not_a_traceback(args: list[str], message: str) -> None:
    done = polynlu_process(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_absent_partition_and_bad_rows(model: Path, tmp_path: Path) -> None:
    done = polynlu(
        "evaluate", str(model), "--data", str(TINY), "--split", "test",
        "--output", str(tmp_path / "e"),
    )  # fmt: skip
    assert done.returncode == 2 and "partition 'test' is absent" in done.stderr
    broken = tmp_path / "broken"
    shutil.copytree(TINY, broken)
    with (broken / "de-DE.jsonl").open("a") as sink:
        sink.write(json.dumps({"id": "x1", "locale": "de-DE", "partition": "dev",
                               "scenario": "alarm", "intent": "alarm_set", "utt": "um fünf",
                               "annot_utt": "um [time : fünf"}) + "\n")  # fmt: skip
    failed = polynlu("data", "stats", str(broken), "--no-progress")
    assert failed.returncode == 2
    assert "de-DE.jsonl:67, id=x1, field 'annot_utt'" in failed.stderr
    skipped = polynlu("data", "stats", str(broken), "--skip-invalid", "--no-progress")
    assert skipped.returncode == 0 and "Skipped 1 invalid row" in skipped.stderr
    assert "[yellow]" not in skipped.stderr and "de-DE.jsonl:67" in skipped.stderr
    rasa = tmp_path / "nlu.yml"
    rasa.write_text("nlu:\n- intent: greet\n  examples: |\n    - hello\n    hi\n    - hey\n")
    converted = polynlu(
        "data", "convert", str(rasa), "--to", "polynlu", "--output", str(tmp_path / "own.yml"),
        "--skip-invalid",
    )  # fmt: skip
    assert converted.returncode == 0 and "nlu.yml:5: an example line" in converted.stderr
    assert "Converted 2 utterances" in converted.stdout


@pytest.mark.slow
def test_train_a_tiny_joint_model_then_parse_and_evaluate(tmp_path: Path) -> None:
    folder = tmp_path / "joint"
    done = polynlu_process(
        "train", "--data", str(TINY), "--train-locales", "en-US", "--backbone", "tiny-random",
        "--epochs", "1", "--batch-size", "16", "--output", str(folder), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "epoch 1: train loss" in done.stdout and "Trained joint on 48 utterances" in done.stdout
    parsed = polynlu_process("parse", str(folder), "明日の天気は", "--locale", "ja-JP", "--json")
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout)["locale"] == "ja-JP"
    scored = polynlu_process(
        "evaluate", str(folder), "--data", str(TINY), "--locales", "de-DE,zh-CN",
        "--output", str(tmp_path / "eval"), "--no-progress",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["meta"]["model_kind"] == "joint" and set(metrics["locales"]) == {
        "de-DE",
        "zh-CN",
    }
    # Every command says which model and settings it runs (issue 12), defaults included.
    assert "Training joint: backbone tiny-random, epochs 1, batch_size 16" in done.stdout
    assert "freeze_layers 8" in done.stdout  # 48 utterances: the few-shot recipe's default
    assert f"Evaluating {folder} (joint float32) on dev" in scored.stdout
    readable = polynlu_process("parse", str(folder), "play jazz", "--locale", "en-US")
    assert readable.stdout.startswith(f"{folder} (joint float32)")


def test_unknown_backbone_offline_is_explained(tmp_path: Path) -> None:
    done = polynlu(
        "train", "--data", str(TINY), "--backbone", str(tmp_path / "no-such-encoder"),
        "--output", str(tmp_path / "m"), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 2 and "cannot load backbone" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_parse_stdin_answers_every_line_in_order_and_never_stops(model: Path) -> None:
    lines = b"play jazz\nplay \xff jazz\n\n\xef\xbb\xbfwake me up\r\n" + b"a" * 20_000 + b"\nhi\n"
    done = subprocess.run(
        [sys.executable, "-m", "polynlu", "parse", str(model), "-", "--locale", "en-US"],
        input=lines,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(out) == 6
    assert out[0]["text"] == "play jazz" and out[5]["text"] == "hi"
    assert out[1] == {"line": 2, "error": "the line is not valid UTF-8 (byte 0xff at byte 6)"}
    assert out[2] == {"line": 3, "error": "the line is empty or only whitespace"}
    assert out[3]["text"] == "wake me up"  # no \r, and no BOM (files concatenated by cat)
    assert out[4]["line"] == 5 and "the limit is 8,064" in out[4]["error"]


def test_a_bad_locale_and_an_unwritable_output_are_refused_before_the_work(
    model: Path, tmp_path: Path
) -> None:
    done = polynlu("parse", str(model), "play jazz", "--locale", "english")
    assert done.returncode == 2 and "--locale 'english' is not a locale code" in done.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = polynlu(
        "evaluate", str(model), "--data", str(TINY), "--output", str(blocker / "eval"),
        "--no-progress",
    )  # fmt: skip
    assert done.returncode == 2 and "cannot write the report to" in done.stderr
    assert "Parsing" not in done.stdout + done.stderr
