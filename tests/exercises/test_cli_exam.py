"""scanlab exam build / tokens / simulate / grade / report, end to end through the CLI."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.exercises import ExamSpec


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
