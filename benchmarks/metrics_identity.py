"""Bit-for-bit identity check of ``compute_all`` across a refactor of the metric code.

``python benchmarks/metrics_identity.py save before.pkl`` before the change, ``... check
before.pkl`` after: both compute every metric of a few small embeddings (simulated data,
extended on and off, with and without pseudotimes, the curve pass, a plug-in metric) and
``check`` compares the values exactly (NaN equal to NaN, same type) and reports the key
order. Run both sides with the numba cache in the same state (both warm: run once before):
the pairwise kernel freshly JIT-compiled and the one loaded from numba's on-disk cache can
differ in the last bit of bASW (seen: 0.9516612556346639 vs ...636, same code).
"""

from __future__ import annotations

import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def cases() -> dict[str, dict[str, float]]:
    from helpers.data import small_preprocessed

    from claire.bench import registry

    registry.register_metric(
        registry.Metric(
            "cross_batch",
            "batch",
            "cross-batch kNN",
            function="plugins.toy_metric:cross_batch_share",
        )
    )
    from claire.bench.metrics import MetricSettings, compute_all

    out: dict[str, dict[str, float]] = {}
    for seed in (5, 7):
        data = small_preprocessed(seed=seed)
        x = np.asarray(data.X.toarray() if hasattr(data.X, "toarray") else data.X)
        rng = np.random.default_rng(seed)
        emb = (x[:, :20] + rng.normal(scale=0.1, size=(x.shape[0], 20))).astype(np.float32)
        batches, labels = data.obs["batch"], data.obs["cell_type"]
        pt = pd.DataFrame({"a": emb[:, 0].astype(float), "b": emb[:, 1].astype(float)})
        pt.loc[pt.index % 3 == 0, "a"] = np.nan
        pt.loc[pt.index % 4 == 1, "b"] = np.nan
        base = MetricSettings(resolutions=(0.5, 1.0), lisi_k=30)
        ext = MetricSettings(resolutions=(0.5, 1.0), lisi_k=30, extended=True)
        f64 = MetricSettings(k=10, dtype="float64", label_transfer_drop_first=True)
        out[f"s{seed}-core"] = compute_all(emb, batches, labels, base)
        out[f"s{seed}-core-pt"] = compute_all(emb, batches, labels, base, pseudotimes=pt)
        out[f"s{seed}-ext-pt-xpre"] = compute_all(
            emb, batches, labels, ext, x_pre=x, pseudotimes=pt
        )
        out[f"s{seed}-ext-noxpre"] = compute_all(emb, batches, labels, ext)
        out[f"s{seed}-curve"] = compute_all(emb, batches, labels, base, downstream_metrics=False)
        out[f"s{seed}-f64"] = compute_all(emb, batches, labels, f64, pseudotimes=pt)
    return out


def same(a: float, b: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def main() -> None:
    mode, path = sys.argv[1], Path(sys.argv[2])
    values = cases()
    if mode == "save":
        path.write_bytes(pickle.dumps(values))
        print(f"saved {len(values)} cases to {path}")
        return
    before = pickle.loads(path.read_bytes())
    bad = 0
    for case, old in before.items():
        new = values[case]
        if set(old) != set(new):
            print(f"{case}: keys differ: {sorted(set(old) ^ set(new))}")
            bad += 1
        for key in old.keys() & new.keys():
            if not same(old[key], new[key]):
                print(
                    f"{case}.{key}: {old[key]!r} ({type(old[key]).__name__}) != "
                    f"{new[key]!r} ({type(new[key]).__name__})"
                )
                bad += 1
        if list(old) != list(new):
            print(f"{case}: key order {list(old)} -> {list(new)}")
    n = sum(len(v) for v in before.values())
    print(f"{len(before)} cases, {n} values: {'IDENTICAL' if not bad else f'{bad} DIFFERENCES'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
