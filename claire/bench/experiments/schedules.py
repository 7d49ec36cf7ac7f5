"""Does a shortened training schedule change a method's metrics? (issue 23 item 3)

A *schedule* is the values of a method's schedule-defining parameters (the registry's
``schedule:`` entry, config/methods.yaml). Three are compared per method and dataset:

* ``default``: the default run's (``method_params`` of config/config.yaml);
* ``authors``: the registry's authors' values (a value given by a rule of the data size is
  passed as null, i.e. the adapter's own rule);
* candidates: schedules given on the command line (``clear:epochs=60``).

Each schedule is a run of the real workflow (:func:`derive_config` writes its config,
:func:`metric_targets` names the integrate + compute_metrics outputs); :func:`read_run`
reads back bASW, kBET, NMI, ARI and the integrate job's CPU seconds, and
:func:`difference_rows` / :func:`markdown_table` set every schedule against the authors'.
benchmarks/schedule_check.py drives it.
"""

from __future__ import annotations

import copy
import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claire.bench.registry.methods import MethodSpec, method_schedule

METRICS = ("basw", "kbet", "nmi", "ari")
METRIC_LABELS = {"basw": "bASW", "kbet": "kBET", "nmi": "NMI", "ari": "ARI"}
TOLERANCE = 0.02
DEFAULT = "default"
AUTHORS = "authors"


class ScheduleError(ValueError):
    """A schedule that cannot be run: unknown method or parameter, malformed text."""


def registry_schedule(method: str, specs: Mapping[str, MethodSpec]) -> dict[str, Any]:
    """The authors' schedule of ``method`` from the registry: parameter -> value (None
    where the authors' value is a rule of the data size: the adapter's default)."""
    schedule = method_schedule(method, specs)
    if schedule is None:
        raise ScheduleError(f"method {method!r} is not registered")
    if not schedule:
        raise ScheduleError(f"method {method!r} has no training schedule (registry)")
    return {param: entry.get("authors") for param, entry in schedule.items()}


def default_schedule(
    method: str, config: Mapping[str, Any], specs: Mapping[str, MethodSpec]
) -> dict[str, Any]:
    """The default run's values of the schedule parameters (the registry's params, then
    the config's ``method_params``; a parameter set in neither runs at the authors')."""
    authors = registry_schedule(method, specs)
    spec = specs[method]
    given = {**spec.params, **(config.get("method_params", {}).get(method) or {})}
    return {param: given.get(param, value) for param, value in authors.items()}


def parse_schedule(text: str, specs: Mapping[str, MethodSpec]) -> tuple[str, dict[str, int]]:
    """``"clear:epochs=60"`` (several parameters comma-separated) -> ("clear", {"epochs": 60});
    only the method's schedule parameters are accepted."""
    method, sep, body = text.partition(":")
    if not sep or not body:
        raise ScheduleError(f"schedule {text!r}: expected <method>:<param>=<value>[,...]")
    allowed = registry_schedule(method.strip(), specs)
    values: dict[str, int] = {}
    for item in body.split(","):
        param, eq, value = item.partition("=")
        param = param.strip()
        if not eq or param not in allowed:
            raise ScheduleError(
                f"schedule {text!r}: {param!r} is not a schedule parameter of "
                f"{method.strip()!r} ({', '.join(allowed)})"
            )
        try:
            values[param] = int(value)
        except ValueError as err:
            raise ScheduleError(f"schedule {text!r}: {value!r} is not an integer") from err
    return method.strip(), values


def schedule_label(schedule: Mapping[str, Any]) -> str:
    """A short name of a schedule, e.g. ``epochs=60``."""
    return ",".join(f"{param}={value}" for param, value in sorted(schedule.items()))


def derive_config(
    base: Mapping[str, Any],
    schedules: Mapping[str, Mapping[str, Any]],
    results: str | Path,
    root: str | Path,
    keep_snapshots: bool = False,
) -> dict[str, Any]:
    """The config of one schedule run: ``base`` (the default run's config) with ``methods``
    restricted to the keys of ``schedules``, each one's ``method_params`` updated with its
    schedule, ``results`` replaced and relative local dataset paths made absolute against
    ``root`` (the run's working directory differs). Snapshots are dropped
    (``snapshot_epochs: []``: they never change the final embedding, and a snapshot past a
    shorter schedule's end is an error) unless ``keep_snapshots``."""
    config = copy.deepcopy(dict(base))
    config["results"] = str(results)
    config["methods"] = list(schedules)
    params = dict(config.get("method_params") or {})
    for method, schedule in schedules.items():
        block = dict(params.get(method) or {})
        block.update(schedule)
        if not keep_snapshots:
            block["snapshot_epochs"] = []
        params[method] = block
    config["method_params"] = params
    for spec in config.get("datasets", {}).values():
        source = spec.get("source", {})
        if source.get("type") == "h5ad" and not Path(source["path"]).is_absolute():
            source["path"] = str((Path(root) / source["path"]).resolve())
    return config


def available_datasets(config: Mapping[str, Any]) -> list[str]:
    """The config's datasets the run will have (an optional missing file is skipped)."""
    names = []
    for name, spec in config["datasets"].items():
        source = spec["source"]
        missing = source.get("type") == "h5ad" and not Path(source["path"]).exists()
        if not (missing and source.get("optional", False)):
            names.append(name)
    return names


def metric_targets(
    results: str | Path, datasets: Iterable[str], methods: Iterable[str], repeat: int = 0
) -> list[str]:
    """The compute_metrics outputs of the runs (their integrate jobs come with them)."""
    methods = list(methods)
    return [
        str(Path(results) / "metrics" / dataset / method / f"rep{repeat}.json")
        for dataset in datasets
        for method in methods
    ]


def integrate_cpu_seconds(results: str | Path, dataset: str, method: str, repeat: int = 0):
    """CPU seconds of the integrate job (its Snakemake benchmark record), None if absent."""
    path = Path(results) / "benchmarks" / "integrate" / dataset / method / f"rep{repeat}.tsv"
    if not path.exists():
        return None
    with path.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return float(rows[-1]["cpu_time"]) if rows else None


@dataclass(frozen=True)
class RunResult:
    """Metrics and cost of one method on one dataset under one schedule."""

    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    cpu_s: float | None = None


def read_run(results: str | Path, dataset: str, method: str, repeat: int = 0) -> RunResult:
    """The four metrics of a run's compute_metrics record and its integrate CPU seconds."""
    path = Path(results) / "metrics" / dataset / method / f"rep{repeat}.json"
    cpu = integrate_cpu_seconds(results, dataset, method, repeat)
    if not path.exists():
        return RunResult("missing", {}, cpu)
    record = json.loads(path.read_text())
    values = {m: float(record[m]) for m in METRICS if record.get(m) is not None}
    return RunResult(str(record.get("status", "ok")), values, cpu)


@dataclass(frozen=True)
class Row:
    """One line of the comparison: a schedule's metrics, their differences to the
    authors' schedule and whether any exceeds the tolerance."""

    method: str
    dataset: str
    schedule: str  # "default", "authors" or a candidate's label
    values: str  # the schedule's parameter values, e.g. "epochs=20"
    result: RunResult
    diffs: dict[str, float]
    flagged: tuple[str, ...]


def difference_rows(
    results: Mapping[tuple[str, str, str], RunResult],
    schedules: Mapping[tuple[str, str], Mapping[str, Any]],
    tolerance: float = TOLERANCE,
) -> list[Row]:
    """Every (method, dataset, schedule) of ``results`` against the authors' schedule of
    the same method and dataset. ``schedules``: (method, schedule name) -> values.
    A difference is flagged when ``|d| > tolerance`` (rounded to 1e-9 against float noise)."""
    rows = []
    for (method, dataset, name), result in results.items():
        ref = results.get((method, dataset, AUTHORS))
        diffs: dict[str, float] = {}
        if ref is not None and result.status == "ok" and ref.status == "ok":
            diffs = {
                m: result.metrics[m] - ref.metrics[m]
                for m in METRICS
                if m in result.metrics and m in ref.metrics
            }
        flagged = tuple(m for m, d in diffs.items() if round(abs(d), 9) > tolerance)
        values = schedule_label(schedules.get((method, name), {}))
        rows.append(Row(method, dataset, name, values, result, diffs, flagged))
    order = {AUTHORS: 0, DEFAULT: 1}
    return sorted(rows, key=lambda r: (r.method, r.dataset, order.get(r.schedule, 2), r.values))


def _number(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def markdown_table(rows: Sequence[Row], tolerance: float = TOLERANCE) -> str:
    """The rows as a markdown table: metrics (difference to the authors' schedule in
    brackets, ``**`` where ``|d| > tolerance``) and the integrate job's CPU seconds."""
    head = ["method", "dataset", "schedule", *(METRIC_LABELS[m] for m in METRICS), "CPU s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.method, row.dataset, f"{row.schedule} ({row.values})"]
        for m in METRICS:
            text = _number(row.result.metrics.get(m)) if row.result.status == "ok" else "failed"
            if m in row.diffs and row.schedule != AUTHORS:
                mark = "**" if m in row.flagged else ""
                text += f" ({mark}{_number(row.diffs[m], signed=True)}{mark})"
            cells.append(text)
        cells.append(f"{row.result.cpu_s:.1f}" if row.result.cpu_s is not None else "–")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"In brackets: difference to the authors' schedule; ** where |d| > {tolerance}. "
        "CPU s: the integrate job (Snakemake benchmark record)."
    )
    return "\n".join(lines)


def write_csv(rows: Sequence[Row], path: str | Path) -> None:
    """The rows as CSV (one line per method, dataset and schedule)."""
    fields = ["method", "dataset", "schedule", "values", "status", *METRICS]
    fields += [f"d_{m}" for m in METRICS] + ["flagged", "cpu_s"]
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    "method": row.method,
                    "dataset": row.dataset,
                    "schedule": row.schedule,
                    "values": row.values,
                    "status": row.result.status,
                    **{m: row.result.metrics.get(m, "") for m in METRICS},
                    **{f"d_{m}": row.diffs.get(m, "") for m in METRICS},
                    "flagged": " ".join(row.flagged),
                    "cpu_s": "" if row.result.cpu_s is None else row.result.cpu_s,
                }
            )


def embedding_difference(a: str | Path, b: str | Path) -> float:
    """Largest absolute difference between the final embeddings of two result files
    (inf when their shapes differ): 0.0 means snapshots left the run unchanged."""
    import anndata as ad
    import numpy as np

    from claire.bench.contract import EMBEDDING_KEY

    x = np.asarray(ad.read_h5ad(a).obsm[EMBEDDING_KEY], dtype=np.float64)
    y = np.asarray(ad.read_h5ad(b).obsm[EMBEDDING_KEY], dtype=np.float64)
    if x.shape != y.shape:
        return math.inf
    return float(np.max(np.abs(x - y))) if x.size else 0.0


def embeddings_difference(a: str | Path, b: str | Path) -> float:
    """Largest absolute difference over every embedding of two result files: the final one
    and each epoch snapshot (inf when their keys or shapes differ); 0.0: the same run."""
    import anndata as ad
    import numpy as np

    from claire.bench.contract import EMBEDDING_KEY

    x, y = ad.read_h5ad(a).obsm, ad.read_h5ad(b).obsm
    keys = sorted(k for k in x.keys() if k.startswith(EMBEDDING_KEY))
    if keys != sorted(k for k in y.keys() if k.startswith(EMBEDDING_KEY)):
        return math.inf
    largest = 0.0
    for key in keys:
        u, v = np.asarray(x[key], dtype=np.float64), np.asarray(y[key], dtype=np.float64)
        if u.shape != v.shape:
            return math.inf
        if u.size:
            largest = max(largest, float(np.max(np.abs(u - v))))
    return largest


def recorded_schedule(path: str | Path, authors: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule a result file ran (``uns["integration"]["params"]``; a parameter it
    does not record ran at the adapter's default, the authors' value): to check that a
    reused run is the schedule it stands for."""
    import anndata as ad

    params = ad.read_h5ad(path, backed="r").uns.get("integration", {}).get("params", "{}")
    given = params if isinstance(params, Mapping) else json.loads(str(params))
    return {param: given.get(param, value) for param, value in authors.items()}
