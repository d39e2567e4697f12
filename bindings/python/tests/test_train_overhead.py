"""Network.train's cheaper Python side (option defaults filled once, data addresses
through the buffer protocol, the SIGINT handler swapped through _signal), checked
against the plain ctypes way of doing the same thing, bit for bit: the history
against reports read in a raw smlp_train callback, the cached defaults against
smlp_train_options_init, and Ctrl-C handling."""

from __future__ import annotations

import ctypes
import os
import signal
import struct
from ctypes import byref, sizeof

import numpy as np
import pytest

from swiftmlp import EpochReport, Network, _capi
from swiftmlp import network as network_module
from swiftmlp._native import check, lib


def bits(value: float) -> bytes:
    return struct.pack("d", value)


def report_bits(report: EpochReport) -> tuple:
    return (report.epoch, bits(report.train_loss), bits(report.validation_loss),
            bits(report.validation_accuracy), bits(report.learning_rate))


def parity(dtype="float64"):
    x = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(dtype) * 2 - 1
    y = (np.prod(x, axis=1) > 0).astype(dtype)[:, None]
    return x, y


def make_network(dtype="float64", kind="rprop"):
    network = Network([6, 12, 1], ["tanh", "sigmoid"], loss="binary_cross_entropy", dtype=dtype, seed=3)
    network.set_optimizer(kind)
    return network


def raw_train(network, x, y, *, epochs, batch_size, method=0, validation=None):
    """smlp_train through _capi alone, the reports read field by field (.contents)."""
    dataset, keep = network._dataset(x, y)
    options = _capi.smlp_train_options()
    lib.smlp_train_options_init_sized(byref(options), sizeof(options))
    options.epochs = epochs
    options.batch_size = batch_size
    options.method = method
    if validation is not None:
        val, keep_val = network._dataset(*validation)
        options.validation = ctypes.pointer(val)
    reports = []

    def on_epoch(pointer, user_data):
        r = pointer.contents
        reports.append(EpochReport(int(r.epoch), r.train_loss, r.validation_loss,
                                   r.validation_accuracy, r.learning_rate))
        return 0

    callback = _capi.smlp_epoch_callback(on_epoch)
    options.callback = callback
    summary = _capi.smlp_train_summary()
    check(lib.smlp_train(network._h, byref(dataset), byref(options), byref(summary)))
    return reports


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["minibatch", "lbfgs"])
def test_history_matches_the_reports_read_field_by_field(dtype, method):
    x, y = parity(dtype)
    validation = (x[::3], y[::3])
    a, b = make_network(dtype), make_network(dtype)
    summary = a.train(x, y, epochs=25, batch_size=16, method=method, validation_data=validation,
                      tol=0.0, tolerance_change=0.0)
    reports = raw_train(b, x, y, epochs=25, batch_size=16, method=int(method == "lbfgs"),
                        validation=validation)
    assert len(summary.history) == len(reports) == summary.epochs_run > 0
    assert [report_bits(r) for r in summary.history] == [report_bits(r) for r in reports]
    assert all(type(r.epoch) is int and type(r.train_loss) is float for r in summary.history)
    assert np.array_equal(a.params, b.params)


def test_reports_without_validation_keep_their_nans():
    x, y = parity()
    summary = make_network().train(x, y, epochs=3, batch_size=64)
    reports = raw_train(make_network(), x, y, epochs=3, batch_size=64)
    assert [report_bits(r) for r in summary.history] == [report_bits(r) for r in reports]
    assert all(np.isnan(r.validation_loss) for r in summary.history)


def test_callback_sees_the_same_reports_as_the_history():
    x, y = parity()
    seen = []
    summary = make_network().train(x, y, epochs=7, batch_size=64, callback=seen.append)
    plain = make_network().train(x, y, epochs=7, batch_size=64)
    assert seen == summary.history
    assert [report_bits(r) for r in plain.history] == [report_bits(r) for r in seen]


def test_cached_option_defaults_are_the_library_defaults():
    options = _capi.smlp_train_options()
    lib.smlp_train_options_init_sized(byref(options), sizeof(options))
    assert bytes(options) == network_module._TRAIN_OPTION_DEFAULTS


def test_options_of_one_call_do_not_leak_into_the_next():
    x, y = parity()
    a, b = make_network(kind="sgd"), make_network(kind="sgd")
    a.train(x, y, epochs=2, batch_size=5, shuffle=False, drop_last=True, patience=1,
            validation_data=(x, y), restore_best=False, method="minibatch")
    first = a.train(x, y, epochs=3)
    b.train(x, y, epochs=2, batch_size=5, shuffle=False, drop_last=True, patience=1,
            validation_data=(x, y), restore_best=False, method="minibatch")
    again = b.train(x, y, epochs=3, batch_size=32, shuffle=True)  # the defaults, spelt out
    assert [report_bits(r) for r in first.history] == [report_bits(r) for r in again.history]
    assert np.array_equal(a.params, b.params)


def test_read_only_data_trains_the_same():
    x, y = parity()
    xr, yr = x.copy(), y.copy()
    xr.setflags(write=False)
    yr.setflags(write=False)
    a, b = make_network(), make_network()
    sa = a.train(x, y, epochs=5, batch_size=16)
    sb = b.train(xr, yr, epochs=5, batch_size=16)
    assert [report_bits(r) for r in sa.history] == [report_bits(r) for r in sb.history]
    assert np.array_equal(a.params, b.params)


def test_sigint_handler_restored_after_a_failed_call():
    x, y = parity()
    x[3, 2] = np.nan
    with pytest.raises(Exception, match="(?i)non-finite|nan"):
        make_network().train(x, y, epochs=3)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_user_sigint_handler_is_left_alone():
    x, y = parity()
    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        def send_sigint(report):
            if report.epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)

        summary = make_network().train(x, y, epochs=5, batch_size=64, callback=send_sigint)
        assert summary.epochs_run == 5  # the user's handler ran; training went on
        assert calls == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigint_during_lbfgs_stops_after_the_iteration():
    x, y = parity()
    network = make_network()

    def send_sigint(report):
        if report.epoch == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        network.train(x, y, epochs=200, method="lbfgs", tol=0.0, tolerance_change=0.0,
                      callback=send_sigint)
    assert network.epoch in (3, 4)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
