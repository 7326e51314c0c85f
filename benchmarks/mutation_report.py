"""Kill rate per module of the last mutation run (``make mutate``), from ``mutmut results`` in
each module's working folder ``mutants/<module>/`` (see benchmarks/mutate.py), and how long the
module's run took.

Killed: a test failed (or timed out, or crashed the test process, or the type check refused
the mutant). Survived: every
test passed. "no tests": no selected test runs that code (a survivor too). Mutants not yet
checked (a run limited with MUTATE_ONLY, or interrupted) are left out of the rate. For a run
of a random sample (``--sample``) the rate's 95 % Wilson interval follows it: the sample's
figure is an estimate of the whole module's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from scanlab.evaluate._sdt import rate_ci

KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests"}
NAME = re.compile(r"^\s*(?P<module>[\w.]+?)\.x[_ǁ].*__mutmut_\d+: (?P<status>.+?)\s*$")


WORK = Path(__file__).resolve().parents[1] / "mutants"


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    lines: list[str] = []
    minutes: dict[str, str] = {}
    sampled: set[str] = set()
    for work in sorted(p.parent for p in WORK.glob("*/run.json")):
        lines += subprocess.run(
            [str(mutmut), "results", "--all", "true"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        run = json.loads((work / "run.json").read_text("utf-8"))
        sample = f", a random {run['sample']}" if run["sample"] else ""
        if run["sample"]:
            sampled.add(f"scanlab.{work.name}")
        minutes[f"scanlab.{work.name}"] = (
            f"{run['seconds'] / 60:.1f} min ({run['jobs']} jobs{sample})"
        )
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        m = NAME.match(line)
        if m:
            counts[m["module"]][m["status"]] += 1
            if m["status"] in SURVIVED:
                survivors[m["module"]].append(line.strip())
    if not counts:
        print("no mutation results: run `make mutate` first")
        return 1
    print(
        f"{'module':<36}{'killed':>8}{'survived':>10}{'unchecked':>11}{'kill rate':>11}   last run"
    )
    for module in sorted(counts):
        c = counts[module]
        killed = sum(c[s] for s in KILLED)
        survived = sum(c[s] for s in SURVIVED)
        unchecked = sum(c.values()) - killed - survived
        rate = f"{killed / (killed + survived):.1%}" if killed + survived else "-"
        print(
            f"{module:<36}{killed:>8}{survived:>10}{unchecked:>11}{rate:>11}",
            f"  {minutes.get(module, '')}",
        )
        if module in sampled and killed + survived:
            ci = rate_ci(killed, killed + survived)
            print(f"{'':<36}{'':>29}  ({ci.low:.1%}-{ci.high:.1%}, Wilson 95 %)")
    print("\nsurvivors (see one with `mutmut show NAME`):")
    for module in sorted(survivors):
        for line in survivors[module]:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
