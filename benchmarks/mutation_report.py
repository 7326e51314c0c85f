"""Kill rate per module of the last mutation run (``make mutate``), from ``mutmut results``.

Killed: a test failed (or timed out, or the type check refused the mutant). Survived: every
test passed. "no tests": no selected test runs that code (a survivor too). Mutants not yet
checked (a run limited with MUTATE_ONLY, or interrupted) are left out of the rate.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check"}
SURVIVED = {"survived", "no tests"}
NAME = re.compile(r"^\s*(?P<module>[\w.]+?)\.x[_ǁ].*__mutmut_\d+: (?P<status>.+?)\s*$")


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    lines = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
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
    print(f"{'module':<36}{'killed':>8}{'survived':>10}{'unchecked':>11}{'kill rate':>11}")
    for module in sorted(counts):
        c = counts[module]
        killed = sum(c[s] for s in KILLED)
        survived = sum(c[s] for s in SURVIVED)
        unchecked = sum(c.values()) - killed - survived
        rate = f"{killed / (killed + survived):.1%}" if killed + survived else "-"
        print(f"{module:<36}{killed:>8}{survived:>10}{unchecked:>11}{rate:>11}")
    print("\nsurvivors (see one with `mutmut show NAME`):")
    for module in sorted(survivors):
        for line in survivors[module]:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
