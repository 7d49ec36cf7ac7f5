"""benchmarks/insct_swap.py's hooks (benchmarks/parity/insct_swap.py): Keras -> torch weight
mapping, parsing the authors' triplet record, our arm equal to the default run, replaying
batches; with the authors' TensorFlow interpreter (PARITY_AUTHORS_PYTHON) and checkout
(PARITY_INSCT_CHECKOUT), ours fed the authors' weights and triplets without dropout
follows the authors' run."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.parity import common  # noqa: E402
from benchmarks.parity import insct as harness  # noqa: E402
from benchmarks.parity import insct_swap as swap  # noqa: E402
from claire.bench.competitors import insct  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def kang_small():
    data = common.load_dataset("kang_small")
    if data is None:
        pytest.skip("real test data not found")
    return data


def _selu(x: np.ndarray) -> np.ndarray:
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * (np.exp(x) - 1))


def test_keras_kernels_map_to_torch_linear_layers():
    rng = np.random.default_rng(0)
    shapes = [(50, 38), (38, 38), (38, 38), (38, 2)]
    weights = []
    for n_in, n_out in shapes:
        weights += [rng.normal(size=(n_in, n_out)).astype(np.float32) * 0.2]
        weights += [rng.normal(size=n_out).astype(np.float32) * 0.1]
    model = insct.TripletEncoder(50, latent_dim=2)
    swap.load_keras_weights(model, weights)
    x = rng.normal(size=(7, 50)).astype(np.float32)
    h = x
    for i in range(3):  # Keras Dense: x @ kernel + bias, SELU on the hidden layers
        h = _selu(h @ weights[2 * i] + weights[2 * i + 1])
    expected = h @ weights[6] + weights[7]
    model.eval()
    got = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="kernel"):
        swap.load_keras_weights(model, [w.T if w.ndim == 2 else w for w in weights])
    with pytest.raises(ValueError, match="Keras arrays"):
        swap.load_keras_weights(model, weights[:6])


def _answer(calls: list[tuple[int, int]], before_fit: int) -> dict[str, np.ndarray]:
    """Driver-style arrays for calls (block index, size); rows encode call number."""
    sizes = np.array([s for _, s in calls])
    rows = np.concatenate([np.full(s, c) for c, (_, s) in enumerate(calls)])
    return {
        "init_w0": np.ones((3, 2)),
        "init_w1": np.zeros(2),
        "rec_idx": np.array([i for i, _ in calls]),
        "rec_size": sizes,
        "rec_anchor": rows,
        "rec_positive": rows + 100,
        "rec_negative": rows + 200,
        "rec_before_fit": np.int64(before_fit),
    }


def test_record_drops_the_shape_peek_and_checks_each_epoch():
    # peek (block 0), epoch 1 in order 2 0 1, epoch 2 in order 1 2 0, one queued extra batch
    calls = [(0, 4), (2, 2), (0, 4), (1, 4), (1, 4), (2, 2), (0, 4), (2, 2)]
    record = swap.Record.from_arrays(_answer(calls, before_fit=1), epochs=2)
    assert [w.shape for w in record.weights] == [(3, 2), (2,)]
    assert len(record.epochs) == 2 and all(len(e) == 3 for e in record.epochs)
    anchor, positive, negative = record.epochs[1][2]  # call 6: block 0 of epoch 2
    assert anchor.tolist() == [6] * 4 and positive[0] == 106 and negative[0] == 206
    assert [len(b[0]) for b in record.epochs[0]] == [2, 4, 4]
    with pytest.raises(ValueError, match="not one epoch"):
        swap.Record.from_arrays(_answer(calls, before_fit=0), epochs=2)
    with pytest.raises(ValueError, match="training batches"):
        swap.Record.from_arrays(_answer(calls, before_fit=1), epochs=3)


def test_our_arm_is_the_default_run_and_replaying_its_batches_reproduces_it(
    kang_small, monkeypatch
):
    epochs = 2
    reference = insct.run(kang_small, "batch", 3, epochs=epochs, device="cpu", progress=False)
    drawn: list[tuple[np.ndarray, ...]] = []
    step = insct.InsctTrainer.train_step

    def recording(self, *rows):
        drawn.append(tuple(r.numpy().copy() for r in rows))
        return step(self, *rows)

    monkeypatch.setattr(insct.InsctTrainer, "train_step", recording)
    plain = swap.ours_run(kang_small, 3, epochs, [0])
    monkeypatch.setattr(insct.InsctTrainer, "train_step", step)
    np.testing.assert_array_equal(plain.embeddings[epochs], reference.embedding)
    start = insct.TripletEncoder(50, 2).eval()
    swap.load_keras_weights(start, swap.initial_weights(3, 50, 0.25))
    pcs = torch.from_numpy(harness.model_input(kang_small, 3))
    np.testing.assert_array_equal(start(pcs).detach().numpy(), plain.embeddings[0])
    assert plain.losses == pytest.approx(list(reference.uns["insct"]["loss"]), abs=0)
    n_blocks = math.ceil(kang_small.n_obs / 64)  # every kang_small cell is an MNN anchor
    assert len(drawn) == epochs * n_blocks
    batches = [drawn[e * n_blocks : (e + 1) * n_blocks] for e in range(epochs)]
    replayed = swap.ours_run(kang_small, 3, epochs, [0], batches=batches)
    np.testing.assert_array_equal(replayed.embeddings[epochs], plain.embeddings[epochs])
    shuffled = [list(reversed(b)) for b in batches]  # another order: another run
    other = swap.ours_run(kang_small, 3, epochs, [0], batches=shuffled)
    assert not np.array_equal(other.embeddings[epochs], plain.embeddings[epochs])


def test_triplet_stats_count_batch_and_type_shares():
    pcs = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [6.0, 8.0]], dtype=np.float32)
    batch = np.array(["a", "b", "a", "b"])
    labels = np.array(["t", "t", "u", "u"])
    steps = [(np.array([0, 0]), np.array([1, 1]), np.array([2, 3])), (np.array([2]),) * 3]
    stats = swap.triplet_stats(steps, pcs, batch, labels)
    assert stats["triplets"] == 3 and stats["distinct anchors"] == 2
    assert stats["distinct (anchor, positive) pairs"] == 2
    assert stats["PC distance a-p"] == pytest.approx(10 / 3)
    assert stats["PC distance a-n"] == pytest.approx(11 / 3)
    assert stats["positive other batch"] == pytest.approx(2 / 3)
    assert stats["negative same batch"] == pytest.approx(2 / 3)
    assert stats["negative same type"] == pytest.approx(1 / 3)


def test_without_dropout_ours_on_the_authors_weights_and_triplets_follows_them(
    kang_small, tmp_path
):
    """The authors' TNN (TensorFlow, one hnswlib thread) and ours, both without
    AlphaDropout, ours from the authors' initial weights and on their recorded batches: the
    same run up to float rounding (and Adam's epsilon placement) over 2 epochs."""
    from benchmarks.parity import external

    checkout = os.environ.get("PARITY_INSCT_CHECKOUT")
    if not checkout or not Path(checkout).exists():
        pytest.skip("PARITY_INSCT_CHECKOUT does not name a checkout of lkmklsmn/insct")
    if not os.environ.get(external.ENV_PYTHON):
        pytest.skip(f"{external.ENV_PYTHON} does not name the authors' (TensorFlow) interpreter")
    saved = dict(harness.SETTINGS)
    harness.SETTINGS["ivis"] = os.environ.get("PARITY_IVIS_CHECKOUT", saved["ivis"])
    harness.SETTINGS["dropout"] = 0.0
    harness.SETTINGS["hnsw_threads"] = 1
    try:
        patched = harness.prepare_authors(Path(checkout), tmp_path / "scratch")
        theirs, record = swap.authors_run(patched, kang_small, 0, 2, [0, 1])
        ours = swap.ours_run(
            kang_small, 0, 2, [0, 1], weights=record.weights, batches=record.epochs
        )
    finally:
        harness.SETTINGS.update(saved)
    code = (patched / "tnn" / "tnn.py").read_text()
    assert "AlphaDropout(0.0)" in code and "p.add_items(ds2, num_threads=1)" in code
    np.testing.assert_allclose(ours.embeddings[0], theirs.embeddings[0], atol=1e-5)
    np.testing.assert_allclose(ours.losses, theirs.losses, rtol=1e-3)
    np.testing.assert_allclose(ours.embeddings[2], theirs.embeddings[2], atol=0.01)
