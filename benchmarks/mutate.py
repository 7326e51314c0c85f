"""Mutation testing (mutmut) one module at a time, each with only the tests that cover it.

``make mutate`` runs this. ``[tool.scanlab.mutate]`` in pyproject.toml names, for each module,
the tests that cover it; ``[tool.mutmut]`` holds the settings every module shares. For each
module this makes a working folder ``mutants/<module>/`` holding links to ``scanlab/``,
``tests/`` and ``models/`` and a pyproject.toml whose ``[tool.mutmut]`` mutates that module
alone and selects those tests alone, then runs ``mutmut run`` there under ``nice``, so a
module's run pays for its own tests only (mutmut's stats run, its clean run, and every mutant's
run). mutmut itself runs, for each mutant, only the tests that called the mutated function in
its stats run, stops them at the first failure (``-x``) and gives them a time limit from their
own duration in that run. An exam or scan set the tests build from code outside the module is
built once for the whole run (``SCANLAB_TEST_BUILD_CACHE``, see tests/conftest.py). The wall
time of each run is kept in ``mutants/<module>/run.json``; ``benchmarks/mutation_report.py``
prints both.

    python benchmarks/mutate.py                              # every module, every mutant
    python benchmarks/mutate.py scanlab/evaluate/_sdt.py     # one module
    python benchmarks/mutate.py --sample 30 scanlab/exercises/_grading.py  # 30 at random
    python benchmarks/mutate.py --survivors scanlab/evaluate/_sdt.py  # after new tests
    python benchmarks/mutate.py --mutants '*x_area_ci*' scanlab/evaluate/_sdt.py  # by name
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "mutants"


#: Modules whose functions the code building the test exam or scan sets calls *and* that the
#: tests exercise only through what was built: their runs build them afresh for every mutant
#: (otherwise the build read from the cache, made by unmutated code, hides those mutants).
#: exercises/_crypto.py was here (build_exam encrypts the answer keys and signs the package,
#: and ExamSecrets.new had no test of its own: a cached exam hid its mutants); each of its
#: build-time functions (new, record, encrypt, seal, sign, token, scan_code) is now tested
#: directly in tests/exercises/test_crypto.py, and a mutant that reads a package differently
#: fails on the cached one, as it would on a package built before the change. Afresh, a
#: _crypto mutant took minutes at a load of 25 (the exam is built in each).
BUILDERS_CALL: set[str] = set()
#: mutmut's wall limit on a mutant is 4 x (its tests' time in the stats run + this constant). In
#: the stats run the exam is built once, by the first test to ask; a mutant of a module in
#: BUILDERS_CALL builds it again (20 s on a quiet machine, minutes at a load of 20) inside
#: tests that took a fraction of a second there, so with [tool.mutmut]'s 5 s most of its
#: mutants were stopped as timeouts, and counted as killed, while building the exam.
BUILD_TIMEOUT_CONSTANT = 120.0


def modules_and_tests(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, list[str]]:
    """The modules to mutate, each with the test files (or node ids) that cover it."""
    tables = tomllib.loads(pyproject.read_text("utf-8"))["tool"]
    return {str(module): list(tests) for module, tests in tables["scanlab"]["mutate"].items()}


def workdir(module: str) -> Path:
    """``scanlab/evaluate/_sdt.py`` -> ``mutants/evaluate._sdt``."""
    return WORK / ".".join(Path(module).with_suffix("").parts[1:])


def module_pyproject(
    module: str,
    tests: list[str],
    pyproject: Path = ROOT / "pyproject.toml",
    *,
    timeout_constant: float | None = None,
) -> str:
    """The project's pyproject.toml (pytest keeps its settings) with a ``[tool.mutmut]`` table
    that mutates ``module`` alone and runs ``tests`` alone (and ``timeout_constant``, when
    given, for [tool.mutmut]'s; for a module in BUILDERS_CALL at least BUILD_TIMEOUT_CONSTANT).
    """
    text = pyproject.read_text("utf-8")
    shared = tomllib.loads(text)["tool"]["mutmut"]
    head, sep, tail = text.partition("\n[tool.mutmut]\n")
    if not sep:
        raise SystemExit(f"{pyproject}: no [tool.mutmut] table")
    # Whatever table follows [tool.mutmut] is kept.
    rest = tail[tail.find("\n[") :] if "\n[" in tail else ""
    table = {**shared, "only_mutate": [module], "pytest_add_cli_args_test_selection": tests}
    # The shipped weights: the baselines are fitted on their recipe's scans, and mutmut runs
    # the tests in its own copy of the project, where models/ is not otherwise.
    table["also_copy"] = [*shared.get("also_copy", []), "models"]
    if timeout_constant is not None:
        table["timeout_constant"] = float(timeout_constant)
    if module in BUILDERS_CALL:
        table["timeout_constant"] = max(
            float(table.get("timeout_constant", 0.0)), BUILD_TIMEOUT_CONSTANT
        )
    lines = [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    out = head + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n" + rest
    tomllib.loads(out)  # JSON strings and arrays of strings are valid TOML; checked anyway
    return out


def prepare(module: str, tests: list[str], *, timeout_constant: float | None = None) -> Path:
    work = workdir(module)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("scanlab", "tests", "models"):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(Path(os.path.relpath(ROOT / name, work)))
    (work / "pyproject.toml").write_text(
        module_pyproject(module, tests, timeout_constant=timeout_constant), "utf-8"
    )
    return work


GENERATE = """
from pathlib import Path
from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants, setup_source_paths
Path("mutants").mkdir(exist_ok=True)
copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(1)
"""


def mutant_names(work: Path) -> list[str]:
    """Every mutant of the module in ``work`` (generating them, as ``mutmut run`` would)."""
    subprocess.run([sys.executable, "-c", GENERATE], cwd=work, check=True, capture_output=True)
    names: list[str] = []
    for meta in sorted((work / "mutants").rglob("*.meta")):
        names += json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    return sorted(names)


def survivors(work: Path, statuses: tuple[str, ...] = ("survived",)) -> list[str]:
    """The mutants of the last run in ``work`` that no test killed (or of other
    ``statuses``: ``timeout`` for those stopped at their time limit)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run(
        [str(mutmut), "results"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    return [
        line.split(":")[0].strip()
        for line in out.splitlines()
        if line.rpartition(":")[2].strip() in statuses
    ]


def run(
    module: str,
    tests: list[str],
    *,
    jobs: int,
    sample: int | None,
    niceness: int,
    rerun: bool = False,
    timeouts: bool = False,
    only: list[str] | None = None,
    timeout_constant: float | None = None,
) -> float:
    work = prepare(module, tests, timeout_constant=timeout_constant)
    if not rerun:
        # mutmut copies the package into mutants/ once and never refreshes a copied file: a
        # new run starts from a fresh copy, so that it never tests yesterday's code.
        shutil.rmtree(work / "mutants", ignore_errors=True)
    mutmut = Path(sys.executable).with_name("mutmut")
    names: list[str] = []
    if sample:
        every = mutant_names(work)
        names = sorted(random.Random(0).sample(every, min(sample, len(every))))
        print(f"== {module}: a random sample (seed 0) of {len(names)} of {len(every)} mutants")
    if rerun:
        names = survivors(work, ("survived", "timeout") if timeouts else ("survived",))
        if not names:
            return 0.0
        # The tests changed since: which of them call which function is recorded afresh
        # (mutmut would only add the new tests' calls to the old record).
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    if only:
        names = [n for n in (names or mutant_names(work)) if any(fnmatch(n, o) for o in only)]
        print(f"== {module}: the {len(names)} mutants named by {' '.join(only)}")
        if not names:
            return 0.0
    cmd = ["nice", "-n", str(niceness), str(mutmut), "run", "--max-children", str(jobs), *names]
    print(f"== {module}: {' '.join(tests)}", flush=True)
    # One thread per mutant: the jobs share the cores, and BLAS or OpenMP threads spinning
    # beside them would eat each mutant's CPU-time limit.
    threads = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    # The exam and the scan sets the tests build with code outside the module are built once
    # for the whole run, not once per mutant (tests/conftest.py, built_once); afresh for each
    # run, so that a run never reads what older code built.
    # Not for a module that code building them calls (the exam is encrypted and signed by
    # exercises/_crypto.py): its mutants would never run in a build read from the cache.
    cache = work / "build-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, **threads, "PYTHONPATH": str(work)}
    env.pop("SCANLAB_TEST_BUILD_CACHE", None)
    if module not in BUILDERS_CALL:
        cache.mkdir()
        env["SCANLAB_TEST_BUILD_CACHE"] = str(cache)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=work, env=env, check=False)
    seconds = time.perf_counter() - start
    if rerun:
        return seconds
    (work / "run.json").write_text(
        json.dumps(
            {
                "module": module,
                "tests": tests,
                "sample": sample,
                "only": only,
                "jobs": jobs,
                "seconds": seconds,
            }
        ),
        "utf-8",
    )
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "modules", nargs="*", help="modules to mutate (default: all in [tool.scanlab.mutate])"
    )
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    parser.add_argument(
        "--sample", type=int, default=None, help="check N mutants drawn at random (seed 0)"
    )
    parser.add_argument(
        "--mutants",
        action="append",
        default=None,
        help="only the mutants whose names this pattern (with *) matches; may be repeated",
    )
    parser.add_argument("--nice", type=int, default=10, help="niceness of the mutation runs")
    parser.add_argument(
        "--timeout-constant",
        type=float,
        default=None,
        help="seconds for [tool.mutmut]'s timeout_constant (more on a loaded machine)",
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run only the last run's survivors again (new tests)",
    )
    parser.add_argument(
        "--timeouts",
        action="store_true",
        help="with --survivors: the mutants stopped at their time limit too (a longer limit)",
    )
    args = parser.parse_args(argv)
    table = modules_and_tests()
    unknown = [m for m in args.modules if m not in table]
    if unknown:
        raise SystemExit(f"not in [tool.scanlab.mutate] of pyproject.toml: {unknown}")
    for module in args.modules or list(table):
        seconds = run(
            module,
            table[module],
            jobs=args.jobs,
            sample=args.sample,
            niceness=args.nice,
            rerun=args.survivors,
            timeouts=args.timeouts,
            only=args.mutants,
            timeout_constant=args.timeout_constant,
        )
        print(f"== {module}: {seconds / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
