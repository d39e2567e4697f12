"""Promises of include/swiftmlp.h checked through the binding (buffers too small,
caches, metadata limits, file versions...)."""

from __future__ import annotations

import ctypes
import struct
import zlib
from ctypes import byref, c_size_t

import numpy as np
import pytest

import swiftmlp
from swiftmlp import Network, Status
from swiftmlp._native import last_error

lib = swiftmlp._lib


def small() -> Network:
    network = Network([3, 4, 2], "tanh", seed=1)
    network.metadata["key"] = "value"
    return network


def test_save_to_buffer_too_small_reports_the_size():
    network = small()
    size = c_size_t()
    assert lib.smlp_save_to_buffer(network._h, None, 0, byref(size)) == Status.OK
    buffer = ctypes.create_string_buffer(size.value)
    reported = c_size_t()
    status = lib.smlp_save_to_buffer(network._h, buffer, size.value - 1, byref(reported))
    assert status == Status.ERR_SHAPE_MISMATCH and reported.value == size.value
    assert lib.smlp_save_to_buffer(network._h, buffer, size.value, byref(reported)) == Status.OK
    assert buffer.raw == network.to_bytes()


def test_get_metadata_too_small_still_sets_the_length():
    network = small()
    buffer = ctypes.create_string_buffer(3)
    length = c_size_t()
    assert lib.smlp_get_metadata(network._h, b"key", buffer, 3, byref(length)) == Status.ERR_SHAPE_MISMATCH
    assert length.value == 5
    assert lib.smlp_get_metadata(network._h, b"nope", None, 0, byref(length)) == Status.ERR_INVALID_ARGUMENT
    assert lib.smlp_metadata_key(network._h, 1, None, 0, byref(length)) != Status.OK
    assert lib.smlp_metadata_count(None) == 0


def test_metadata_limits():
    network = Network([1, 1], ["identity"])
    with pytest.raises(ValueError, match="smlp_set_metadata"):
        network.metadata["v"] = "x" * 65536
    network.metadata["k" * 255] = "longest key"
    for index in range(1023):
        network.metadata[f"k{index}"] = ""
    assert len(network.metadata) == 1024
    with pytest.raises(ValueError, match="smlp_set_metadata"):
        network.metadata["one too many"] = "x"
    network.metadata["k0"] = "replacing is fine at the limit"


def test_cache_survives_predict_and_follows_step(rng):
    network = Network([3, 5, 2], "relu", seed=3)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    network.step(x, y)
    assert network.cached_rows == 8
    z_before = network.layer_cache(1, "Z")
    network.predict(rng.normal(size=(50, 3)))  # predict does not touch the cache
    assert network.cached_rows == 8 and np.array_equal(network.layer_cache(1, "Z"), z_before)
    out = np.empty((7, 2))
    status = lib.smlp_get_layer_cache(network._h, 1, 0, swiftmlp.DType.FLOAT64, out.ctypes.data, 7, 2)
    assert status == Status.ERR_SHAPE_MISMATCH
    assert lib.smlp_cached_rows(None) == 0 and "NULL" in last_error()
    network.train(x, y, epochs=1)  # train reuses the workspace
    assert network.cached_rows == 0


def test_gradcheck_layer_count_must_match(rng):
    network = small()
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    dataset, keep = network._dataset(x, y)
    errors = (ctypes.c_double * 1)()
    status = lib.smlp_gradcheck(network._h, byref(dataset), 1e-6, errors, errors, 1)
    assert status == Status.ERR_SHAPE_MISMATCH


def test_apply_gradients_scale_must_be_finite():
    network = small()
    with pytest.raises(ValueError, match="smlp_apply_gradients"):
        network.apply_gradients(np.zeros(network.param_count), scale=float("nan"))


def rewrite_header(data: bytes, major: int) -> bytes:
    """The same file with another format major version and a fixed CRC-32."""
    body = bytearray(data[:-4])
    struct.pack_into("<H", body, 8, major)
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)


def test_newer_major_format_is_unsupported_version(tmp_path):
    data = small().to_bytes()
    assert data[:8] == b"SMLPMODL"
    Network.from_bytes(rewrite_header(data, 1))  # the CRC recipe is right
    with pytest.raises(swiftmlp.FormatError) as info:
        Network.from_bytes(rewrite_header(data, 2))
    assert info.value.status == Status.ERR_UNSUPPORTED_VERSION
    (tmp_path / "future.smlp").write_bytes(rewrite_header(data, 2))
    with pytest.raises(swiftmlp.FormatError, match="smlp_load"):
        Network.load(tmp_path / "future.smlp")
    with pytest.raises(swiftmlp.FormatError) as info:
        Network.from_bytes(b"NOTMODEL" + data[8:])
    assert info.value.status == Status.ERR_BAD_FORMAT


def test_save_is_atomic_over_an_existing_file(tmp_path):
    path = tmp_path / "m.smlp"
    first = small()
    first.save(path)
    second = Network([3, 4, 2], "tanh", seed=2)
    second.save(path)
    assert Network.load(path).to_bytes() == second.to_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.smlp"]  # no temporary left
    with pytest.raises(OSError, match="smlp_load"):
        Network.load(tmp_path)  # a directory
