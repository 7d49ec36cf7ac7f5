# Two entry points: `make run` (main job, default config; CONFIG=... for another) and
# `make test`.
# Both create .venv on first use and reuse it afterwards (the stamp file is
# only rebuilt when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all

.PHONY: run test install sysdeps-run sysdeps-test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	# torch first: 2.13.0 is the CPU build; anything newer pulls CUDA wheels.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[bench,test]"
	touch $(STAMP)

# Debian packages (R/Seurat; Chromium and SLURM for the tests); skipped when present.
sysdeps-run:
	bash scripts/install_system_deps.sh r

sysdeps-test:
	bash scripts/install_system_deps.sh r browser slurm

# Rerunning after an interruption resumes: a lock left by a killed Snakemake is released
# (only when no Snakemake runs here) and jobs that were cut off are run again
# (claire.bench.resume). CONFIG=path runs that config instead of the default one.
CONFIG ?=
CONFIG_ARG := $(if $(CONFIG),--configfile $(CONFIG))
run: $(STAMP) sysdeps-run
	$(BIN)/python -m claire.bench.resume --cores $(CORES) $(CONFIG_ARG)
	$(BIN)/snakemake --report results/report.html $(CONFIG_ARG)

test: $(STAMP) sysdeps-test
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check claire workflow tests benchmarks
	$(BIN)/ruff format --check claire workflow tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results/* .snakemake
	touch results/.gitkeep
