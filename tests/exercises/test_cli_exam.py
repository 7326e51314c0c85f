"""scanlab exam build / tokens / simulate / grade / report, end to end through the CLI."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.exercises import ExamPackage, ExamSpec


def test_exam_commands_end_to_end(tmp_path, passphrase):
    runner = CliRunner()
    env = {"SCANLAB_PASSPHRASE": passphrase, "COLUMNS": "200"}
    spec = ExamSpec(
        name="cli-exam",
        seed=1,
        count=4,
        clean_share=0.25,
        pitch_mm=20.0,
        cargo={"textiles": 1.0, "tyres": 1.0},
    )
    spec_file = tmp_path / "exam.yaml"
    spec_file.write_text(yaml.safe_dump(spec.to_dict()))
    package = tmp_path / "exam.zip"
    result = runner.invoke(app, ["exam", "build", str(spec_file), str(package)], env=env)
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output

    result = runner.invoke(app, ["exam", "tokens", str(package), "ana", "ben"], env=env)
    assert result.exit_code == 0, result.output
    assert "ana" in result.output and "ben" in result.output

    subs = []
    for behaviour in ("perfect", "clicks_everywhere"):
        sub = tmp_path / f"{behaviour}.json"
        result = runner.invoke(
            app, ["exam", "simulate", str(package), str(sub), "--behaviour", behaviour], env=env
        )
        assert result.exit_code == 0, result.output
        subs.append(sub)
    out = tmp_path / "results.json"
    result = runner.invoke(
        app, ["exam", "grade", str(package), *map(str, subs), "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    perfect = next(t for t in doc["trainees"] if t["trainee_id"] == "perfect")
    assert perfect["scores"]["overall"]["hits"] == perfect["scores"]["overall"]["n_signal"]
    assert perfect["scores"]["overall"]["false_alarms"] == 0

    result = runner.invoke(app, ["exam", "report", str(out), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.html").exists()

    # A tampered submission is rejected, and the command says which file.
    tampered = json.loads(subs[0].read_text())
    tampered["trainee_id"] = "someone-else"
    subs[0].write_text(json.dumps(tampered))
    refused = tmp_path / "refused.json"
    result = runner.invoke(
        app, ["exam", "grade", str(package), str(subs[0]), "--out", str(refused)], env=env
    )
    assert result.exit_code == 1
    assert "perfect.json" in result.output
    assert not refused.exists()  # nothing graded, nothing written

    result = runner.invoke(
        app,
        ["exam", "tokens", str(package), "ana"],
        env={"SCANLAB_PASSPHRASE": "wrong passphrase!!"},
    )
    assert result.exit_code == 1


def _rows(output: str) -> list[list[str]]:
    """The cells of each row of the tables printed."""
    rows = ([c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines())
    return [r for r in rows if r]


def test_assist_design_from_build_to_report(tmp_path, passphrase):
    """An exam built with --assisted: tokens and grading say who has Detector assist, and
    the cohort report compares the groups without the list passed again."""
    runner = CliRunner()
    env = {"SCANLAB_PASSPHRASE": passphrase, "COLUMNS": "200"}
    spec = ExamSpec(
        name="assist-study",
        seed=1,
        count=4,
        clean_share=0.25,
        pitch_mm=20.0,
        cargo={"textiles": 1.0, "tyres": 1.0},
    )
    spec_file = tmp_path / "exam.yaml"
    spec_file.write_text(yaml.safe_dump(spec.to_dict()))
    package = tmp_path / "exam.zip"
    build = ["exam", "build", str(spec_file), str(package), "--assisted", "ana"]
    result = runner.invoke(app, [*build, "--assisted", "cem"], env=env)
    assert result.exit_code == 0, result.output
    assert "with Detector assist: ana, cem; every other trainee without" in result.output

    result = runner.invoke(app, ["exam", "tokens", str(package), "ana", "ben"], env=env)
    assert result.exit_code == 0, result.output
    keys = ExamPackage.open(package).keys(passphrase)
    assert [r for r in _rows(result.output) if r[0] in ("ana", "ben")] == [
        ["ana", keys.token("ana"), "with"],
        ["ben", keys.token("ben"), "without"],
    ]

    # A simulated class: ana and cem (assisted) find everything, ben and dan mark at random.
    subs = []
    for trainee, behaviour in (("ana", "perfect"), ("ben", "random"), ("cem", "perfect")):
        sub = tmp_path / f"{trainee}.json"
        args = ["exam", "simulate", str(package), str(sub), "--trainee", trainee]
        result = runner.invoke(app, [*args, "--behaviour", behaviour, "--seed", "3"], env=env)
        assert result.exit_code == 0, result.output
        subs.append(sub)
    sub = tmp_path / "dan.json"
    args = ["exam", "simulate", str(package), str(sub), "--trainee", "dan", "--seed", "4"]
    assert runner.invoke(app, [*args, "--behaviour", "random"], env=env).exit_code == 0
    subs.append(sub)
    graded = tmp_path / "spring.json"
    result = runner.invoke(
        app, ["exam", "grade", str(package), *map(str, subs), "--out", str(graded)], env=env
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(graded.read_text())
    assert {t["trainee_id"]: t["assisted"] for t in doc["trainees"]} == {
        "ana": True,
        "ben": False,
        "cem": True,
        "dan": False,
    }

    out = tmp_path / "study"
    result = runner.invoke(app, ["evaluate", "--cohort", str(graded), "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "with and without Detector assist" in result.output
    by_id = {t["trainee_id"]: t["scores"]["overall"] for t in doc["trainees"]}
    with_hits = by_id["ana"]["hits"] + by_id["cem"]["hits"]
    with_signal = by_id["ana"]["n_signal"] + by_id["cem"]["n_signal"]
    assert with_hits == with_signal  # perfect trainees
    with_row = next(r for r in _rows(result.output) if r[1] == "with")
    assert with_row[:3] == ["spring", "with", "2"] and with_row[3].startswith("1.00 [")
    page = (out / "cohorts" / "cohorts.html").read_text()
    assert "Humans with and without Detector assist" in page
