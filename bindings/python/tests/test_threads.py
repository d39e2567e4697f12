"""Threads: ctypes releases the GIL during library calls, so two models train at
once; the results equal sequential runs bit for bit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import swiftmlp
from swiftmlp import Network


def make_data(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 16))
    labels = (x[:, :4].sum(axis=1) > 0).astype(np.int32) + (x[:, 4] > 1).astype(np.int32)
    return x, labels


def make_network(seed: int) -> Network:
    network = Network([16, 64, 32, 3], "relu", loss="softmax_cross_entropy", seed=seed)
    network.set_optimizer("adam", lr=0.005)
    return network


def train(network: Network, data, epochs: list) -> None:
    x, labels = data
    network.train(x, labels, epochs=15, batch_size=32,
                  callback=lambda report: epochs.append((threading.get_ident(), report.epoch)))


def test_two_threads_train_two_models_like_sequential_runs():
    data = [make_data(1), make_data(2)]
    sequential = [make_network(10), make_network(20)]
    for network, d in zip(sequential, data):
        train(network, d, [])
    concurrent = [make_network(10), make_network(20)]
    log: list = []
    errors: list = []

    def run(index):
        try:
            train(concurrent[index], data[index], log)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for a, b in zip(sequential, concurrent):
        assert np.array_equal(a.params, b.params)
    assert len(log) == 30 and len({ident for ident, _ in log}) == 2


def test_many_threads_predict_on_one_model():
    network = make_network(3)
    x, labels = make_data(3)
    network.train(x, labels, epochs=2)
    expected = network.predict(x)
    results: list = [None] * 8

    def run(i):
        for _ in range(5):
            results[i] = network.predict(x)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(result, expected) for result in results)


def test_changing_a_model_that_trains_in_another_thread_is_busy():
    network = make_network(4)
    x, labels = make_data(4)
    started = threading.Event()
    release = threading.Event()

    def slow_callback(report):
        started.set()
        release.wait(10)
        return True

    thread = threading.Thread(target=lambda: network.train(x, labels, epochs=5, callback=slow_callback))
    thread.start()
    try:
        assert started.wait(30)
        with pytest.raises(swiftmlp.BusyError, match="smlp_step"):
            network.step(x[:10], labels[:10])
        with pytest.raises(swiftmlp.BusyError, match="smlp_predict"):
            network.predict(x[:10])
    finally:
        release.set()
        thread.join()
    assert network.epoch == 1
    network.step(x[:10], labels[:10])  # free again
