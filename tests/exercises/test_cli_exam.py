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
    with_row = next(r for r in _rows(result.output) if r[1:3] == ["as assigned", "with"])
    assert with_row[3] == "2" and with_row[4].startswith("1.00 [")
    assert "spring: the submissions do not record Detector assist use" in result.output
    page = (out / "cohorts" / "cohorts.html").read_text()
    assert "Humans with and without Detector assist" in page


def test_assist_use_recorded_from_session_to_report(tmp_path, passphrase, monkeypatch):
    """Detector assist as used: the trainee's session counts each run and the seconds its
    output was on screen over each scan, signed into the submission; the report compares
    the groups as assigned and as used (intervals), and an older submission still grades."""
    import csv

    import pytest

    import scanlab.napari_plugin._exercise as exercise
    from scanlab.errors import SpecError, TamperError
    from scanlab.evaluate import Mark
    from scanlab.exercises import grade, simulate_trainee
    from scanlab.napari_plugin import ExerciseSession, open_exercise

    runner = CliRunner()
    env = {"SCANLAB_PASSPHRASE": passphrase, "COLUMNS": "220"}
    spec = ExamSpec(
        name="assist-use",
        seed=1,
        count=6,
        clean_share=0.34,
        pitch_mm=20.0,
        time_limit_s=600.0,
        cargo={"textiles": 1.0, "tyres": 1.0},
    )
    spec_file = tmp_path / "exam.yaml"
    spec_file.write_text(yaml.safe_dump(spec.to_dict()))
    package = tmp_path / "exam.zip"
    build = ["exam", "build", str(spec_file), str(package), "--assisted", "ana", "--assisted"]
    assert runner.invoke(app, [*build, "cem"], env=env).exit_code == 0
    pkg = ExamPackage.open(package)
    keys = pkg.keys(passphrase)
    items = pkg.item_ids
    assert sum(keys.answer_keys[i].is_clean for i in items) == 2

    now = [0.0]
    monkeypatch.setattr(exercise.time, "monotonic", lambda: now[0])
    # Seconds the detector's output is on screen per item (0: run, then hidden at once);
    # an item not listed: not run. A trainee marks every object where it was seen, none
    # elsewhere, so "used" finds everything and "not used" nothing.
    plans = {
        "ana": {items[0]: 10.0, items[1]: 20.0, items[2]: 5.0, items[3]: 5.0},
        "cem": {i: 8.0 for i in items} | {items[2]: 0.0},
        "ben": {},
        "dan": {},
    }
    subs = []
    for trainee, plan in plans.items():
        progress = tmp_path / "progress" / trainee
        session = ExerciseSession(
            open_exercise(package, trainee_id=trainee, token=keys.token(trainee)),
            progress_dir=progress,
        )
        for k, item in enumerate(items):
            session.go_to(k)
            now[0] += 3.0  # loading: not timed
            session.scan_shown()
            if item in plan:
                session.assist_ran()
                session.set_assist_visible(True)
                now[0] += plan[item]
                if plan[item] > 10:  # left on screen: the next scan takes it away
                    session.go_to(k + 1)
                    now[0] += 50.0
                    session.go_to(k)
                    session.scan_shown()
                else:
                    session.set_assist_visible(False)
            now[0] += 30.0  # looking without it
            seen = plan.get(item, 0.0) > 0
            objects = keys.answer_keys[item].objects if seen else []
            session.set_marks(
                item,
                [
                    Mark(f"m{j}", "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], o.threat_class)
                    for j, o in enumerate(objects)
                    for r0, c0, r1, c1 in [o.bbox]
                ],
            )
        if trainee == "ana":  # a restart: the record is saved with the progress
            session = ExerciseSession(session.source, progress_dir=progress)
            assert session.assist_use(items[1]) == (1, 20.0)
            assert session.assist_use(items[5]) == (0, 0.0)
        with pytest.raises(SpecError, match="graded by your instructor"):
            session.submit()
        sub = tmp_path / f"{trainee}.json"
        sub.write_bytes((session.folder / "submission.json").read_bytes())
        subs.append(sub)
    doc = json.loads(subs[0].read_text())
    assert [
        (doc["items"][i]["assist_runs"], doc["items"][i]["assist_visible_s"]) for i in items
    ] == [(1, 10.0), (1, 20.0), (1, 5.0), (1, 5.0), (0, 0.0), (0, 0.0)]
    # The record is signed like the marks: changed, the submission is refused.
    doc["items"][items[4]]["assist_visible_s"] = 30.0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    with pytest.raises(TamperError):
        grade(package, [forged], passphrase)
    # A submission from before the record (as simulate writes them) still grades.
    old = tmp_path / "eve.json"
    eve = simulate_trainee(pkg, "perfect", seed=2, passphrase=keys, trainee_id="eve")
    old.write_text(json.dumps({**eve.body(), "signature": {"value": eve.signature}}))
    assert "assist_runs" not in old.read_text()
    subs.append(old)

    graded = tmp_path / "spring.json"
    result = runner.invoke(
        app, ["exam", "grade", str(package), *map(str, subs), "--out", str(graded)], env=env
    )
    assert result.exit_code == 0, result.output
    outcomes = {
        t["trainee_id"]: {it["item_id"]: it for it in t["items"]}
        for t in json.loads(graded.read_text())["trainees"]
    }
    assert outcomes["cem"][items[2]]["assist_runs"] == 1
    assert outcomes["cem"][items[2]]["assist_visible_s"] == 0.0
    assert outcomes["eve"][items[0]]["assist_runs"] is None

    out = tmp_path / "study"
    args = ["evaluate", "--cohort", str(graded), "--name", "spring 2026", "--out", str(out)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    n_objects = {i: len(keys.answer_keys[i].objects) for i in items}
    clean = [i for i in items if keys.answer_keys[i].is_clean]
    used = [("ana", i) for i in items[:4]] + [("cem", i) for i in items if i != items[2]]
    unused = [(t, i) for t in ("ana", "cem", "ben", "dan") for i in items if (t, i) not in used]
    table = (out / "cohorts" / "assist.csv").read_text().splitlines()
    rows = {(r["basis"], r["group"]): r for r in csv.DictReader(table)}
    assert {r["cohort"] for r in rows.values()} == {"spring 2026"}  # --name, not the file's
    # As used: every object found where the output was seen, none elsewhere (eve's items
    # hold no record and stay out); the noise trials are the clean items of each group.
    with_used, without_used = rows["used", "with"], rows["used", "without"]
    assert int(with_used["hits"]) == int(with_used["signal_trials"])
    assert int(with_used["signal_trials"]) == sum(n_objects[i] for _, i in used)
    assert int(with_used["noise_trials"]) == sum(i in clean for _, i in used)
    assert int(with_used["trainee_items"]) == len(used) == 9
    assert int(without_used["hits"]) == 0 and int(without_used["trainee_items"]) == len(unused)
    assert int(without_used["signal_trials"]) == sum(n_objects[i] for _, i in unused)
    assert float(with_used["hit_rate"]) == 1.0 and float(without_used["hit_rate"]) == 0.0
    low, high = float(with_used["hit_rate_low"]), float(with_used["hit_rate_high"])
    assert 0.5 < low < 1.0 == high
    assert float(rows["used", "difference"]["hit_rate"]) == 1.0
    # As assigned: ana and cem against ben, dan and eve (eve, perfect, found everything).
    assigned_with, assigned_without = rows["assigned", "with"], rows["assigned", "without"]
    assert int(assigned_with["hits"]) == sum(n_objects[i] for _, i in used)
    assert int(assigned_without["hits"]) == sum(n_objects.values())  # eve's
    assert (assigned_with["trainees"], assigned_without["trainees"]) == ("2", "3")
    # Adherence: ana saw it on 4 of 6 items, cem on 5 of 6 (ran once and hid it).
    seconds = [10.0, 20.0, 5.0, 5.0] + [8.0] * 5
    said = " ".join(result.output.split())  # rich wraps long lines
    text = "spring 2026: trainees assigned Detector assist used it on 9 of 12 items "
    text += f"(0.75 [0.47, 0.91]), its output on screen {sum(seconds) / 9:.1f} s per item used"
    assert text + "; the others used Detector assist on 0 of 12 items" in said
    used_row = next(r for r in _rows(result.output) if r[1:3] == ["as used", "with"])
    assert used_row[3] == "2 (9 trainee-items)"
    page = (out / "cohorts" / "cohorts.html").read_text()
    assert "as used, per item" in page and "used it on 9 of 12 items (0.75" in page

    # In the instructor's language: the table's basis and groups, the adherence line,
    # assist.csv's headers (its cells stay machine-readable) and the page.
    from scanlab.i18n import translation

    ru = translation("ru")
    russian = runner.invoke(app, args, env={**env, "SCANLAB_LANG": "ru"})
    assert russian.exit_code == 0, russian.output
    said = " ".join(russian.output.split())
    used_row = next(r for r in _rows(russian.output) if r[1] == ru.gettext("as used"))
    assert used_row[3] == ru.ngettext(
        "{trainees} ({count} trainee-item)", "{trainees} ({count} trainee-items)", 9
    ).format(trainees=2, count=9)
    assigned = ru.ngettext(
        "trainees assigned Detector assist used it on {used} of {items} item",
        "trainees assigned Detector assist used it on {used} of {items} items",
        12,
    ).format(used=9, items=12)
    on_screen = ru.gettext(", its output on screen {seconds:.1f} s per item used").replace(
        "{seconds:.1f}",
        f"{sum(seconds) / 9:.1f}".replace(".", ","),  # a decimal comma
    )
    assert f"spring 2026: {assigned} (0,75 [0,47, 0,91]){on_screen}; " in said
    others = ru.ngettext(
        "the others used Detector assist on {used} of {items} item",
        "the others used Detector assist on {used} of {items} items",
        12,
    ).format(used=0, items=12)
    assert others in said and "the others used" not in said
    header, *body = list(csv.reader((out / "cohorts" / "assist.csv").read_text().splitlines()))
    assert header[:5] == [
        ru.gettext(m) for m in ("cohort", "basis", "group", "trainees", "trainee-items")
    ]
    assert ru.gettext("false-alarm rate, 95 % low") in header
    assert [r[:3] for r in body[:2]] == [
        ["spring 2026", "assigned", "with"],
        ["spring 2026", "assigned", "without"],
    ]
    page = (out / "cohorts" / "cohorts.html").read_text(encoding="utf-8")
    assert "<html lang='ru' dir='ltr'>" in page
    assert ru.gettext("as used, per item") in page and "as used, per item" not in page
    assert f"{assigned} (0,75 [0,47, 0,91]){on_screen}" in page  # decimal commas
