"""Control-scaled scores (openproblems ``task_batch_integration``), next to the paper's F1.

Per dataset, every metric of every run is scaled between the worst and the best control run
of that dataset (the control methods of the registry, family ``control``, plus the
unintegrated baseline ``pca`` as ``no_integration``): ``(value - worst) / (best - worst)``
clipped to [0, 1]. Metrics are higher-is-better (all of the registry's batch and bio
metrics are). A metric whose controls all score the same (or that no control has) cannot be
scaled and is left out (NaN). The batch and bio scores are the means of the scaled metrics
of each group, the overall score the mean of all scaled metrics (openproblems' rule), and
runs are ranked by it within their dataset. Unlike the paper's min-max F1, the scale does
not move when methods are added or removed, only when the controls change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from claire.bench.contract import STATUS_OK
from claire.bench.registry.metrics import metric_names, metric_registry
from claire.bench.tables.scores import RUN_KEYS, rank_by

GROUP_SCORES = ("batch", "bio", "overall")


def scaled_metric_names(raw: pd.DataFrame) -> list[str]:
    """The batch and bio metrics (registry order) that ``raw`` has values of."""
    return [
        m
        for m in metric_names(extended=True)
        if metric_registry().by_name[m].group in ("batch", "bio")
        and m in raw
        and raw[m].notna().any()
    ]


def _scale_dataset(group: pd.DataFrame, controls: Collection[str], metrics: Sequence[str]):
    ok = group["status"] == STATUS_OK
    reference = group[ok & group["method"].isin(list(controls))]
    out = group[[*RUN_KEYS, "status"]].copy()
    for metric in metrics:
        worst, best = reference[metric].min(skipna=True), reference[metric].max(skipna=True)
        column = f"{metric}_scaled"
        out[column] = np.nan
        if pd.notna(worst) and best > worst:
            scaled = ((group[metric] - worst) / (best - worst)).clip(0.0, 1.0)
            out.loc[ok, column] = scaled[ok]
    by_name = metric_registry().by_name
    for name, members in (
        ("batch", [m for m in metrics if by_name[m].group == "batch"]),
        ("bio", [m for m in metrics if by_name[m].group == "bio"]),
        ("overall", list(metrics)),
    ):
        out[name] = out[[f"{m}_scaled" for m in members]].mean(axis=1, skipna=True)
    out.loc[~ok, list(GROUP_SCORES)] = np.nan
    out["rank"] = rank_by(out["overall"])
    return out


def control_scaled_table(
    raw: pd.DataFrame, controls: Collection[str], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per run: each metric scaled between the dataset's worst and best control, the batch,
    bio and overall means and the rank by overall score in the dataset.

    ``controls``: the method (run) names that are controls; ``metrics``: default every batch
    and bio metric with a value in ``raw``.
    """
    metrics = list(metrics) if metrics is not None else scaled_metric_names(raw)
    columns = [*RUN_KEYS, "status", *(f"{m}_scaled" for m in metrics), *GROUP_SCORES, "rank"]
    if raw.empty:
        return pd.DataFrame(columns=columns)
    parts = [_scale_dataset(g, controls, metrics) for _, g in raw.groupby("dataset", sort=True)]
    table = pd.concat(parts, ignore_index=True)[columns]
    order = table.assign(_r=table["rank"].astype(float).fillna(np.inf))
    order = order.sort_values(["dataset", "_r", "method", "repeat"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def control_scaled_summary(
    scaled: pd.DataFrame, f1_summary: pd.DataFrame, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per (dataset, method): mean batch/bio/overall over repeats, the rank by overall, and
    the paper's F1 and its rank (NaN for controls, which are not in the paper's min-max)."""
    ok = scaled[scaled["status"] == STATUS_OK]
    means = ok.groupby(["dataset", "method"], sort=True)[list(GROUP_SCORES)].mean()
    summary = means.reset_index()
    summary["rank"] = summary.groupby("dataset")["overall"].transform(rank_by).astype("Int64")
    f1 = f1_summary[["dataset", "method", "f1_mean", "rank"]].rename(columns={"rank": "f1_rank"})
    summary = summary.merge(f1, on=["dataset", "method"], how="left")
    summary.insert(2, "label", [(labels or {}).get(m, m) for m in summary["method"]])
    return summary.sort_values(["dataset", "rank", "method"], kind="stable").reset_index(drop=True)


def control_scaled_markdown(summary: pd.DataFrame, scaled: pd.DataFrame) -> str:
    """control_scaled.md: per dataset, the control-scaled scores and rank next to the paper's
    F1 and its rank; then the mean overall score over datasets."""
    from claire.bench.registry.metrics import metric_label
    from claire.bench.tables.render import _markdown_table

    lines = [
        "# Control-scaled scores",
        "",
        "Each metric scaled between the worst and the best control run of its dataset "
        "(controls and the unintegrated PCA), clipped to [0, 1]; batch, bio and overall are "
        "means of the scaled metrics (openproblems' rule). The paper's F1 (min-max over the "
        "non-control methods) and its rank are shown next to it; controls have none.",
    ]
    metric_columns = [c for c in scaled.columns if c.endswith("_scaled")]
    lines += [
        "",
        "Metrics: " + ", ".join(metric_label(c[: -len("_scaled")]) for c in metric_columns),
    ]
    header = ["rank", "method", "batch", "bio", "overall", "F1 (paper)", "F1 rank"]
    for dataset, group in summary.groupby("dataset", sort=True):
        lines += ["", f"## {dataset}", ""]
        rows = [
            [r.rank, r.label, r.batch, r.bio, r.overall, r.f1_mean, r.f1_rank]
            for r in group.itertuples()
        ]
        lines += _markdown_table(header, rows)
    overall = summary.pivot_table(index="label", columns="dataset", values="overall")
    if not overall.empty:
        overall["mean"] = overall.mean(axis=1)
        overall = overall.sort_values("mean", ascending=False)
        lines += ["", "## Overall score by dataset", ""]
        lines += _markdown_table(
            ["method", *overall.columns],
            [[label, *row] for label, row in zip(overall.index, overall.to_numpy(), strict=True)],
        )
    return "\n".join(lines) + "\n"
