"""INSCT's own code (patched ``tnn.TNN`` + ivis 1.7.2) on given PCs; run by
``benchmarks/parity/insct.py`` in the authors' interpreter (TensorFlow), not the project's.

    <tf python> insct_driver.py FOLDER     (PYTHONPATH = the patched scratch copy)

FOLDER holds ``input.npz`` (``pcs`` cells x 50, ``batch``, ``names``) and ``params.json``
(``seed``, ``epochs``, ``eval_epochs``, ``threads``, ``negatives``, ``record``); writes
``output.npz``: the per-epoch Keras loss, the encoder's output at the evaluation epochs
(0 = the untrained network), wall and CPU seconds of ``TNN.fit`` (triplet construction
included) and notes. With ``record`` (``benchmarks/insct_swap.py``) also the encoder's
initial weights (``init_w<i>``: Keras kernels and biases in layer order, after seeding,
before the first step) and every triplet batch the generator produced, in order
(``rec_idx``: the block index of each ``__getitem__`` call, ``rec_size``: its length,
``rec_anchor`` / ``rec_positive`` / ``rec_negative``: full-data rows, concatenated;
``rec_before_fit``: calls made before training began, i.e. Keras's shape peek).
Imports only NumPy, pandas, anndata, TensorFlow and the authors' code.
"""

import contextlib
import io
import json
import random
import re
import sys
import time
from importlib.metadata import version
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import tensorflow as tf
from tensorflow import keras


class Snapshots(keras.callbacks.Callback):
    """The shared embedding network's output (inference mode) at the chosen epochs."""

    def __init__(self, x, eval_epochs):
        super().__init__()
        self.x, self.eval_epochs, self.embeddings = x, set(eval_epochs), {}

    def _embed(self):
        encoder = self.model.layers[3]  # TNN.encoder: the network shared by a, p, n
        return np.asarray(encoder(self.x, training=False), dtype=np.float32)

    def on_train_begin(self, logs=None):
        if 0 in self.eval_epochs:
            self.embeddings[0] = self._embed()

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.eval_epochs:
            self.embeddings[epoch + 1] = self._embed()


class RowIndex:
    """Full-data row of a PC vector (the rows are distinct; looked up by their bytes)."""

    def __init__(self, pcs):
        pcs = np.ascontiguousarray(pcs, dtype=np.float32)
        self.row_of = {row.tobytes(): i for i, row in enumerate(pcs)}
        if len(self.row_of) != len(pcs):
            raise SystemExit("insct driver: duplicate PC rows, triplets cannot be recorded")

    def __call__(self, vectors):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return np.asarray([self.row_of[row.tobytes()] for row in vectors], dtype=np.int64)


class TripletRecorder:
    """Wraps ``KnnTripletGenerator.__getitem__``: the rows of every batch it yields, in
    call order (one worker thread: the order the batches are drawn and trained on)."""

    def __init__(self, generator_class, rows: RowIndex):
        self.calls, self.rows = [], rows
        getitem = generator_class.__getitem__

        def recorded(generator, idx):
            out = getitem(generator, idx)
            anchor, positive, negative = (self.rows(x) for x in out[0])
            self.calls.append((int(idx), anchor, positive, negative))
            return out

        generator_class.__getitem__ = recorded

    def arrays(self, before_fit: int) -> dict:
        idx, anchor, positive, negative = zip(*self.calls, strict=True)
        return {
            "rec_idx": np.asarray(idx, dtype=np.int64),
            "rec_size": np.asarray([len(a) for a in anchor], dtype=np.int64),
            "rec_anchor": np.concatenate(anchor),
            "rec_positive": np.concatenate(positive),
            "rec_negative": np.concatenate(negative),
            "rec_before_fit": np.int64(before_fit),
        }


class InitialWeights(keras.callbacks.Callback):
    """The encoder's weights when training begins, and how many batches were drawn by then."""

    def __init__(self, recorder: TripletRecorder):
        super().__init__()
        self.recorder, self.weights, self.before_fit = recorder, [], 0

    def on_train_begin(self, logs=None):
        self.weights = [np.asarray(w) for w in self.model.layers[3].get_weights()]
        self.before_fit = len(self.recorder.calls)


def same_batch_negative_fraction(generator, batch: np.ndarray, rows: RowIndex) -> float:
    """Expected share of the generator's negatives drawn from the anchor's own batch.

    Anchors of batch b draw a uniform position of b's anchors in the training order
    (``batch_indices``) and use it as a row of the full data (``X1``); the share is the
    mean over positions p of [batch of full-data row p == batch of the anchor at p]."""
    anchor_rows = rows(np.asarray(generator.X))
    return float(np.mean(batch[: len(anchor_rows)] == batch[anchor_rows]))


def main(folder: Path) -> None:
    params = json.loads((folder / "params.json").read_text())
    data = np.load(folder / "input.npz", allow_pickle=False)
    seed, epochs = int(params["seed"]), int(params["epochs"])
    threads = int(params.get("threads", 1))  # TensorFlow's op threads (as torch's)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the authors' code draws from the global one)
    tf.random.set_seed(seed)
    import tnn  # the patched copy on PYTHONPATH
    from tnn import tnn as upstream

    adata = ad.AnnData(
        X=np.zeros((len(data["names"]), 1), dtype=np.float32),
        obs=pd.DataFrame({"batch": data["batch"].astype(str)}, index=data["names"].astype(str)),
    )
    adata.obsm["X_pca"] = np.asarray(data["pcs"], dtype=np.float32)
    snapshots = Snapshots(adata.obsm["X_pca"], params["eval_epochs"])
    rows = RowIndex(adata.obsm["X_pca"])
    record = bool(params.get("record", False))
    recorder = TripletRecorder(upstream.KnnTripletGenerator, rows) if record else None
    initial = InitialWeights(recorder) if record else None
    # CLAIRE's INSCT_*.py: TNN(lr=1e-3 (= Keras Adam's default), epochs=ep,
    # n_epochs_without_progress=ep); every other argument TNN's default (k 150, d 2, pn)
    model = tnn.TNN(
        epochs=epochs,
        n_epochs_without_progress=max(epochs, 1),
        callbacks=[snapshots] + ([initial] if record else []),
        verbose=2,
    )
    generators = []
    init = upstream.KnnTripletGenerator.__init__

    def recorded_init(self, *args, **kwargs):  # keeps the generator (no random draw)
        init(self, *args, **kwargs)
        generators.append(self)

    upstream.KnnTripletGenerator.__init__ = recorded_init
    printed = io.StringIO()
    tick, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(printed):
        model.fit(adata, batch_name="batch")
    seconds, cpu_seconds = time.perf_counter() - tick, time.process_time() - cpu
    print(printed.getvalue())
    counts = {
        kind: re.search(rf"(\d+) cells defined as {kind}s", printed.getvalue())
        for kind in ("MNN", "KNN")
    }
    final = np.asarray(model.transform(adata), dtype=np.float32)
    embeddings = {**snapshots.embeddings, epochs: final}
    share = (
        1.0  # the patched generator reads the position from the training cells
        if params.get("negatives") == "intended"
        else same_batch_negative_fraction(generators[0], adata.obs["batch"].to_numpy(), rows)
    )
    notes = [
        " + ".join(f"{m.group(1) if m else '?'} {kind}" for kind, m in counts.items())
        + " anchor cells",
        f"same-batch negatives {share:.3f}",
        f"tensorflow {tf.__version__}, keras {version('keras')}, {threads} op threads",
    ]
    recorded = {}
    if record:
        recorded = recorder.arrays(initial.before_fit)
        recorded.update({f"init_w{i}": w for i, w in enumerate(initial.weights)})
    np.savez(
        folder / "output.npz",
        losses=np.asarray(model.loss_history_, dtype=np.float64),
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        notes=np.asarray(notes),
        **{f"emb_{e}": v for e, v in embeddings.items()},
        **recorded,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
