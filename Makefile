# The two commands the README opens with: `make demo` (main job) and `make test` (all tests).
# Each creates .venv when needed and installs what it needs; nothing is assumed installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_OUT ?= demo-output
# Debian packages napari needs for an OpenGL context under a virtual X server, and the fonts
# of the trainees' scripts (Noto: Cyrillic, and Naskh/Sans Arabic for Dari and Pashto).
APT_PACKAGES := xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4 \
	libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 \
	libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libxcb-xkb1 libdbus-1-3 libfontconfig1 \
	fonts-noto-core
# Named by the package list: adding a package (the fonts, say) checks the system again.
SYSTEM_STAMP := $(VENV)/.system-packages-$(shell echo $(APT_PACKAGES) | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck pytest bench detector-table mutate clean i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[napari,torch,dask,test,notebooks]"
	rm -f $(VENV)/.installed-*
	touch $@

$(SYSTEM_STAMP): | $(BIN)/python
	@if command -v xvfb-run >/dev/null 2>&1 && ldconfig -p | grep -q libxkbcommon-x11 \
		&& [ -f /usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf ]; then \
		echo "system packages: present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
		echo "scanlab: the napari tests need these Debian packages; run as root or install them:"; \
		echo "  sudo apt-get install $(APT_PACKAGES)"; exit 1; \
	fi
	touch $@

demo: $(STAMP)
	$(BIN)/scanlab demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check scanlab tests benchmarks
	$(BIN)/ruff format --check scanlab tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Every extra is installed, so a test skipped for a missing module fails instead.
pytest: $(STAMP) $(SYSTEM_STAMP)
	QT_API=pyqt6 SCANLAB_TEST_REQUIRE_EXTRAS=1 xvfb-run -a -s "-screen 0 1920x1080x24" \
		$(BIN)/python -m pytest --doctest-modules scanlab tests

test: lint typecheck pytest

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The README's detector table, every row from `scanlab evaluate` (about two hours on 2 busy
# cores; resumes). DETECTORS="cargo-anomaly-v2" adds a model to every row.
TABLE_OUT ?= detector-table
detector-table: $(STAMP)
	$(BIN)/python benchmarks/detector_table.py --out $(TABLE_OUT) \
		$(foreach d,$(DETECTORS),--detector $(d))

# Mutation testing (mutmut), one module at a time with only the tests that cover it: see
# benchmarks/mutate.py and [tool.scanlab.mutate] in pyproject.toml; runs under nice -n 10.
# MUTATE_ONLY="scanlab/evaluate/_sdt.py" runs one module; MUTATE_ARGS="--sample 10" checks a
# tenth of the mutants, MUTATE_ARGS="--survivors" only the last run's survivors (after new tests),
# MUTATE_ARGS="--mutants '*x_area_ci*'" only the mutants those names match; on a loaded machine
# MUTATE_ARGS="--timeout-constant 20" gives each mutant 20 s more before it counts as a timeout,
# and MUTATE_ARGS="--survivors --timeouts" rechecks the last run's survivors and timeouts.
MUTATE_ONLY ?=
MUTATE_ARGS ?=
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[mutate]"
	$(BIN)/python benchmarks/mutate.py --jobs $(or $(MUTATE_JOBS),2) $(MUTATE_ARGS) $(MUTATE_ONLY)
	$(BIN)/python benchmarks/mutation_report.py

# The message catalogues: extract the messages from the code into scanlab/locale/scanlab.pot,
# merge them into each language's .po (translations kept), compile the .mo files, then check
# them (untranslated, fuzzy or format-broken entries, glossary terms). See README, Languages.
i18n: $(STAMP)
	$(BIN)/python -m scanlab._catalogues update
	$(BIN)/python -m scanlab._catalogues check

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache mutants
