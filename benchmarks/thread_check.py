"""Thread check (issue 24 item 1): does a method's run change with its job's thread count?

    nice -n 5 python benchmarks/thread_check.py insct clear mat2 desc --threads 1 \
        --reuse /tmp/full/main/results --out /tmp/thread_check

Runs the real workflow's integrate jobs of the given methods on the default run's datasets
(config/config.yaml or --config; repeat 0, snapshots included: the default run's jobs
exactly) with ``--set-threads integrate=N``. Snakemake then sets OMP / OpenBLAS / MKL
threads to N and the adapter caps PyTorch's threads at N. Every embedding of each run
(the final one and each epoch snapshot) is compared with the same run of a reference
results folder (``--reuse``: a finished default run, whose jobs had the registry's
threads), and the CPU and wall seconds of both jobs are printed. A method whose runs are
identical (difference 0) can run with N threads without changing a number.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from claire.bench.experiments import schedules as sch
from claire.bench.registry.methods import load_registry
from claire.bench.tables.collect import read_benchmark

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from schedule_check import run_workflow  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("methods", nargs="+", help="registered methods")
    parser.add_argument("--threads", type=int, required=True, help="threads of the jobs")
    parser.add_argument("--reuse", type=Path, required=True, help="reference results folder")
    parser.add_argument("--out", type=Path, required=True, help="scratch folder")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--datasets", nargs="+", help="subset of the config's datasets")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)

    specs = load_registry()
    base = yaml.safe_load(args.config.read_text())
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = f"threads{args.threads}"
    schedules = {m: sch.default_schedule(m, base, specs) for m in args.methods}
    config = sch.derive_config(base, schedules, out / name, ROOT, keep_snapshots=True)
    datasets = args.datasets or sch.available_datasets(config)
    targets = [
        str(out / name / "integration" / d / m / "rep0.h5ad")
        for d in datasets
        for m in args.methods
    ]
    run_workflow(
        out,
        name,
        config,
        targets,
        args.cores,
        False,
        ["--set-threads", f"integrate={args.threads}"],
    )
    print(f"| method | dataset | max abs difference | CPU s ref / {name} | wall s ref / {name} |")
    print("|---|---|---|---|---|")
    for m in args.methods:
        for d in datasets:
            rel = Path(d) / m / "rep0"
            ref, new = args.reuse / "integration" / rel, out / name / "integration" / rel
            diff = sch.embeddings_difference(ref.with_suffix(".h5ad"), new.with_suffix(".h5ad"))
            cost = [
                read_benchmark((folder / "benchmarks" / "integrate" / rel).with_suffix(".tsv"))
                for folder in (args.reuse, out / name)
            ]
            cpu = " / ".join(f"{c['cpu_time']:.1f}" for c in cost)
            wall = " / ".join(f"{c['seconds']:.1f}" for c in cost)
            print(f"| {m} | {d} | {diff:.3g} | {cpu} | {wall} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
