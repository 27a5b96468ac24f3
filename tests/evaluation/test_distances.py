"""Batched geodesic queries: every caller gets exactly its pairs' distances, with few calls of the function."""

import numpy as np

from densepose_ext.evaluation.distances import BatchedDistance, submit_pair_distances

from .synthetic import chart_distance


class CountingDistance:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(len(args[0]))
        return chart_distance(*args)


def random_pairs(rng, m):
    return (
        (rng.integers(1, 25, m), rng.random(m), rng.random(m)),
        (rng.integers(1, 25, m), rng.random(m), rng.random(m)),
    )


def test_each_submitter_gets_its_own_distances_in_one_call():
    rng = np.random.default_rng(0)
    fn = CountingDistance()
    batch = BatchedDistance(fn)
    queries = [random_pairs(rng, m) for m in (5, 0, 17, 3)]
    got = {}
    for k, (gt, pred) in enumerate(queries):
        batch.submit(gt, pred, lambda d, k=k: got.__setitem__(k, d))
    assert got == {} and fn.calls == []  # nothing runs before the flush
    batch.flush()
    assert fn.calls == [25]
    for k, (gt, pred) in enumerate(queries):
        np.testing.assert_array_equal(got[k], chart_distance(*gt, *pred))
    batch.flush()
    assert fn.calls == [25]  # an empty queue costs no call


def test_batches_run_once_they_are_large_enough():
    rng = np.random.default_rng(1)
    fn = CountingDistance()
    batch = BatchedDistance(fn, batch_pairs=10)
    done = []
    for m in (4, 4, 4, 4, 1):
        batch.submit(*random_pairs(rng, m), done.append)
    assert fn.calls == [12] and len(done) == 3  # the third submission reached 10 pairs
    batch.flush()
    assert fn.calls == [12, 5] and [len(d) for d in done] == [4, 4, 4, 4, 1]


def test_submitted_pair_distances_equal_direct_distance_calls():
    rng = np.random.default_rng(2)
    gt = tuple(a for a in random_pairs(rng, 30)[0])
    pred_i = rng.integers(0, 25, (3, 30))
    pred = (pred_i, rng.random((3, 30)), rng.random((3, 30)))
    out = np.full((3, 30), np.inf)
    called = []
    batch = BatchedDistance(chart_distance)
    submit_pair_distances(batch, gt, pred, out, then=lambda: called.append(True))
    batch.flush()
    assert called == [True]
    expected = np.where(pred_i > 0, chart_distance(gt[0][None], gt[1][None], gt[2][None], *pred), np.inf)
    np.testing.assert_array_equal(out, expected)
