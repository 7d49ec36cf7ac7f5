"""Markdown tables from ``competitor_parity.py --out`` folders (for docs/parity-competitors.md).

    python -m benchmarks.parity.tables /tmp/parity_runs/clear_*

reads every ``<method>_<dataset>_scores.csv`` / ``_seconds.csv`` / ``_losses.csv`` below
the folders, pools the runs of a method and dataset (e.g. seeds run in separate calls) and
prints, per method, one row per dataset and epoch: each metric as authors | ours, mean over
seeds ± half their range, the number of seeds, the final loss, the wall seconds and, where
recorded, the CPU seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

METRICS = ("bASW", "kBET", "NMI", "ARI")


def _collect(folders: list[Path], suffix: str) -> pd.DataFrame:
    frames = []
    for folder in folders:
        for path in sorted(folder.glob(f"*_{suffix}.csv")):
            method, dataset = path.name[: -len(f"_{suffix}.csv")].split("_", 1)
            frame = pd.read_csv(path, index_col=0 if suffix != "scores" else None)
            frames.append((method, dataset, frame))
    return frames


def _cell(values: pd.Series, digits: int = 3) -> str:
    if values.empty:
        return "–"
    half = (values.max() - values.min()) / 2
    mean = f"{values.mean():.{digits}f}"
    return f"{mean} ±{half:.{digits}f}" if len(values) > 1 else mean


def markdown(folders: list[Path]) -> str:
    scores = [
        f.assign(method=m, dataset=d, side=f["run"].str.split(":").str[0])
        for m, d, f in _collect(folders, "scores")
    ]
    if not scores:
        return "(no *_scores.csv found)"
    table = pd.concat(scores).drop_duplicates(["method", "dataset", "run", "epoch"], keep="last")
    losses: dict[tuple[str, str, str], list[float]] = {}
    for method, dataset, frame in _collect(folders, "losses"):
        for run in frame.columns:
            if " " not in run and frame[run].notna().any():
                last = float(frame[run].dropna().iloc[-1])
                losses.setdefault((method, dataset, run.split(":")[0]), []).append(last)
    seconds: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[tuple[str, str, str], list[float]] = {}
    for method, dataset, frame in _collect(folders, "seconds"):
        for run, value in frame.iloc[:, 0].items():
            seconds.setdefault((method, dataset, str(run).split(":")[0]), []).append(float(value))
        if "cpu_seconds" in frame.columns:
            for run, value in frame["cpu_seconds"].dropna().items():
                cpu.setdefault((method, dataset, str(run).split(":")[0]), []).append(float(value))
    lines = []
    for method, per_method in table.groupby("method"):
        header = ["dataset", "epoch", "seeds"] + [f"{m} authors \\| ours" for m in METRICS]
        header += ["final loss authors \\| ours", "wall s authors \\| ours"]
        stores = [(losses, 3), (seconds, 0)]
        if any(key[0] == method for key in cpu):
            header.append("CPU s authors \\| ours")
            stores.append((cpu, 0))
        lines += [f"\n**{method}**\n", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        for (dataset, epoch), rows in per_method.groupby(["dataset", "epoch"]):
            sides = {s: rows[rows["side"] == s] for s in ("authors", "ours")}
            n_seeds = "/".join(str(len(sides[s])) for s in sides)
            cells = [dataset, str(epoch), n_seeds]
            for metric in METRICS:
                cells.append(" \\| ".join(_cell(sides[s][metric]) for s in sides))
            last = epoch == per_method[per_method["dataset"] == dataset]["epoch"].max()
            for store, digits in stores:
                if last:
                    cells.append(
                        " \\| ".join(
                            _cell(
                                pd.Series(store.get((method, dataset, s), []), dtype=float), digits
                            )
                            for s in sides
                        )
                    )
                else:
                    cells.append("")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown([Path(p) for p in sys.argv[1:]]))
