"""Schedule check (issue 23 item 3): do a method's metrics move when it trains shorter?

    nice -n 5 python benchmarks/schedule_check.py insct clear --out /tmp/sched \
        --reuse-default /tmp/after/main/results --schedule clear:epochs=60

For each method, on the default run's datasets (config/config.yaml, or --config; repeat 0,
the config's seed), runs the real workflow (integrate + compute_metrics jobs only) at
(a) the default run's schedule, (b) the authors' schedule (the registry's ``schedule:``,
config/methods.yaml) and (c) every ``--schedule <method>:<param>=<value>[,...]``, one
Snakemake run per schedule in ``--out/<schedule>/`` (working directory ``--out``). Prints per
method x dataset bASW / kBET / NMI / ARI of each schedule, the difference to the authors'
(``**`` where |d| > 0.02) and the CPU seconds of each integrate job; writes the table to
``--out/schedule_check.{md,csv}``.

``--reuse-default DIR`` reads (a) from a finished run of the same config (e.g. the last
default run) instead of recomputing it; ``--check-snapshots`` then also recomputes (a)
without snapshots and prints the largest difference of the final embeddings (0: snapshots
do not change the run, so the other schedules may run without them). ``--keep-snapshots``
runs (a) with the config's snapshot_epochs (exactly the default run's jobs).
Logic: claire.bench.experiments.schedules.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from claire.bench.experiments import schedules as sch
from claire.bench.registry.methods import load_registry

ROOT = Path(__file__).resolve().parents[1]


def run_workflow(
    out: Path,
    name: str,
    config: dict,
    targets: list[str],
    cores: int,
    dry_run: bool,
    extra: Sequence[str] = (),
) -> None:
    """One Snakemake run of ``config`` (written to ``out/<name>.config.yaml``; its log to
    ``out/<name>.snakemake.log``); ``extra``: more Snakemake arguments (after the targets)."""
    path = out / f"{name}.config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(out), "--configfile", str(path), "--cores", str(cores)]
    cmd += ["-n"] if dry_run else []
    log = out / f"{name}.snakemake.log"
    print(f"[{name}] snakemake --configfile {path} ({len(targets)} targets), log {log}", flush=True)
    with log.open("w") as handle:
        done = subprocess.run([*cmd, *targets, *extra], stdout=handle, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"[{name}] snakemake failed ({done.returncode}):\n{log.read_text()[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("methods", nargs="+", help="registered methods with a schedule")
    parser.add_argument("--out", type=Path, required=True, help="scratch folder")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--schedule", action="append", default=[], help="clear:epochs=60")
    parser.add_argument("--reuse-default", type=Path, help="results folder of (a)")
    parser.add_argument("--check-snapshots", action="store_true")
    parser.add_argument("--keep-snapshots", action="store_true")
    parser.add_argument("--no-authors", action="store_true", help="skip (b) if not run yet")
    parser.add_argument("--datasets", nargs="+", help="subset of the config's datasets")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--dry-run", action="store_true", help="snakemake -n, no table")
    parser.add_argument("--tolerance", type=float, default=sch.TOLERANCE)
    args = parser.parse_args(argv)

    specs = load_registry()
    base = yaml.safe_load(args.config.read_text())
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # schedule name -> {method: values}
    plan: dict[str, dict[str, dict]] = {
        sch.DEFAULT: {m: sch.default_schedule(m, base, specs) for m in args.methods},
        sch.AUTHORS: {m: sch.registry_schedule(m, specs) for m in args.methods},
    }
    for text in args.schedule:
        method, values = sch.parse_schedule(text, specs)
        plan.setdefault(sch.schedule_label(values), {})[method] = values
    values_of = {(m, name): v for name, runs in plan.items() for m, v in runs.items()}

    probe = sch.derive_config(base, plan[sch.DEFAULT], out / sch.DEFAULT, ROOT)
    datasets = args.datasets or sch.available_datasets(probe)
    results_dir = {name: out / name for name in plan}
    if args.reuse_default:  # the reused run must be the default schedule it stands for
        for m, values in plan[sch.DEFAULT].items():
            for d in datasets:
                path = args.reuse_default / "integration" / d / m / "rep0.h5ad"
                ran = sch.recorded_schedule(path, plan[sch.AUTHORS][m])
                if ran != values:
                    sys.exit(f"{path} ran {ran}, not the default schedule {values}")
    for name, runs in plan.items():
        if name == sch.DEFAULT and args.reuse_default:
            results_dir[name] = args.reuse_default.resolve()
            if not args.check_snapshots:
                continue
            name = "default_nosnap"
            results_dir[name] = out / name
        if name == sch.AUTHORS and args.no_authors:
            continue
        keep = args.keep_snapshots and name == sch.DEFAULT
        config = sch.derive_config(base, runs, out / name, ROOT, keep_snapshots=keep)
        targets = sch.metric_targets(out / name, datasets, runs)
        run_workflow(out, name, config, targets, args.cores, args.dry_run)
    if args.dry_run:
        return 0

    results = {
        (m, d, name): sch.read_run(results_dir[name], d, m)
        for name, runs in plan.items()
        for m in runs
        for d in datasets
    }
    rows = sch.difference_rows(results, values_of, args.tolerance)
    table = sch.markdown_table(rows, args.tolerance)
    print(table)
    (out / "schedule_check.md").write_text(table + "\n")
    sch.write_csv(rows, out / "schedule_check.csv")
    if args.reuse_default and args.check_snapshots:
        print("\nSnapshots vs none, default schedule: max |final embedding difference|")
        for m in args.methods:
            for d in datasets:
                rel = Path("integration") / d / m / "rep0.h5ad"
                diff = sch.embedding_difference(
                    results_dir[sch.DEFAULT] / rel, out / "default_nosnap" / rel
                )
                print(f"  {m} {d}: {diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
