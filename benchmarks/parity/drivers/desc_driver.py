"""DESC's own code (patched eleozzr/desc: ``desc.scale_bygroup``, ``desc.train``) on given
log-normalised HVGs; run by ``benchmarks/parity/desc.py`` in the authors' interpreter
(TensorFlow), not the project's.

    <tf python> desc_driver.py FOLDER     (PYTHONPATH = the patched scratch copy)

FOLDER holds ``input.npz`` (``x`` cells x HVGs, ``batch``, ``names``) and ``params.json``
(``seed``, ``eval_epochs``, ``pretrain_epochs``, ``max_iter``, ``resolution``,
``threads``); writes ``output.npz``: the clustering stage's per-epoch Keras KLD loss, the
pretraining losses (``extra_stack``: layer-wise stacks, ``extra_e2e``: end to end), the
bottleneck at the evaluation epochs (clustering epochs, 0 = the pretrained encoder at the
Louvain initialisation; epochs not reached get the final embedding), the per-batch scaled
input (``scaled``, to compare with ours), wall and CPU seconds of ``desc.train`` and notes.

The losses and snapshots are recorded by wrapping ``keras.Model.fit`` (one more callback;
nothing else changes): phase ``kld`` = clustering, a ``Sequential`` = a layer-wise stack,
otherwise the end-to-end autoencoder.
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


class Recorder(keras.callbacks.Callback):
    """Per-epoch losses of every ``fit``; bottleneck snapshots during clustering."""

    def __init__(self, x, eval_epochs):
        super().__init__()
        self.x, self.eval_epochs = x, set(eval_epochs)
        self.losses = {"stack": [], "e2e": [], "kld": []}
        self.embeddings, self.phase = {}, None

    def _embed(self):
        layer = self.model.get_layer("clustering")
        encoder = keras.Model(self.model.input, layer.input)
        return np.asarray(encoder(self.x, training=False), dtype=np.float32)

    def start(self, model):
        self.phase = (
            "kld"
            if model.loss == "kld"
            else ("stack" if isinstance(model, keras.Sequential) else "e2e")
        )
        if self.phase == "kld" and not self.losses["kld"] and 0 in self.eval_epochs:
            self.model = model
            self.embeddings.setdefault(0, self._embed())

    def on_epoch_end(self, epoch, logs=None):
        self.losses[self.phase].append(float(logs["loss"]))
        done = len(self.losses["kld"])
        if self.phase == "kld" and done in self.eval_epochs:
            self.embeddings[done] = self._embed()


def main(folder: Path) -> None:
    params = json.loads((folder / "params.json").read_text())
    data = np.load(folder / "input.npz", allow_pickle=False)
    seed, threads = int(params["seed"]), int(params.get("threads", 1))
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the authors' code draws from the global one)
    tf.random.set_seed(seed)
    import desc  # the patched copy on PYTHONPATH

    adata = ad.AnnData(
        X=np.asarray(data["x"], dtype=np.float32),
        obs=pd.DataFrame({"batch": data["batch"].astype(str)}, index=data["names"].astype(str)),
    )
    # the authors' batch handling (their tutorials: scale_bygroup(adata, "BatchID", 6))
    desc.scale_bygroup(adata, "batch", max_value=6)
    scaled = np.asarray(adata.X, dtype=np.float32)
    recorder = Recorder(scaled, params["eval_epochs"])
    fit = keras.Model.fit

    def recorded_fit(model, *args, callbacks=None, **kwargs):
        recorder.start(model)
        return fit(model, *args, callbacks=[*(callbacks or []), recorder], **kwargs)

    keras.Model.fit = recorded_fit
    printed = io.StringIO()
    resolution = float(params["resolution"])
    tick, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(printed):
        result = desc.train(
            adata,
            louvain_resolution=[resolution],
            pretrain_epochs=int(params["pretrain_epochs"]),
            max_iter=int(params["max_iter"]),
            use_ae_weights=False,  # train() defaults to True (reuses save_dir's weights)
            save_dir=str(folder / "result_tmp"),
            num_Cores=threads,
            random_seed=seed,
            verbose=False,
        )
    seconds, cpu_seconds = time.perf_counter() - tick, time.process_time() - cpu
    keras.Model.fit = fit
    text = printed.getvalue()
    print(text)
    final = np.asarray(result.obsm[f"X_Embeded_z{resolution}"], dtype=np.float32)
    embeddings = {e: recorder.embeddings.get(e, final) for e in params["eval_epochs"]}
    deltas = re.findall(r"delta_label of current \d+ th iteration is ([0-9.e-]+)", text)
    stop = re.search(r"delta_label\s+([0-9.e-]+)\s+< tol", text)
    n_clusters = result.obs[f"desc_{resolution}"].nunique()
    notes = [
        f"{n_clusters} clusters, {len(recorder.losses['kld'])} clustering epochs, "
        f"delta_label {', '.join(deltas)}" + (f", stop at {stop.group(1)}" if stop else ""),
        f"pretraining epochs: stacks {len(recorder.losses['stack'])}, "
        f"end to end {len(recorder.losses['e2e'])}",
        f"tensorflow {tf.__version__}, keras {version('keras')}, {threads} op threads",
    ]
    np.savez(
        folder / "output.npz",
        losses=np.asarray(recorder.losses["kld"], dtype=np.float64),
        extra_stack=np.asarray(recorder.losses["stack"], dtype=np.float64),
        extra_e2e=np.asarray(recorder.losses["e2e"], dtype=np.float64),
        scaled=scaled,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        notes=np.asarray(notes),
        **{f"emb_{e}": v for e, v in embeddings.items()},
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
