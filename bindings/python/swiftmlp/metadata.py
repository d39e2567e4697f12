"""`Metadata`: a model's UTF-8 key/value pairs as a mutable mapping."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator, MutableMapping
from ctypes import byref, c_size_t
from typing import TYPE_CHECKING, Any

from ._native import c_text, check, lib

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Metadata"]


class Metadata(MutableMapping):
    """The metadata of one :class:`Network`: ``str`` keys and values (UTF-8),
    kept in insertion order and saved with the model."""

    def __init__(self, network: Network) -> None:
        self._network = network

    def _copy_out(self, function: Callable[..., int], argument: Any) -> str:
        call = self._network._call
        length = c_size_t()
        check(call(function, argument, None, 0, byref(length)))
        buffer = ctypes.create_string_buffer(length.value + 1)
        check(call(function, argument, buffer, len(buffer), byref(length)))
        return buffer.raw[:length.value].decode("utf-8")

    def __getitem__(self, key: str) -> str:
        encoded = _key(key)
        if key not in list(self):
            raise KeyError(key)
        return self._copy_out(lib.smlp_get_metadata, encoded)

    def __setitem__(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"metadata values are str, not {type(value).__name__}")
        check(self._network._call(lib.smlp_set_metadata, _key(key), c_text(value, "a metadata value")))

    def __delitem__(self, key: str) -> None:
        encoded = _key(key)
        if key not in list(self):
            raise KeyError(key)
        check(self._network._call(lib.smlp_set_metadata, encoded, None))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in list(self)

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self)):
            yield self._copy_out(lib.smlp_metadata_key, index)

    def __len__(self) -> int:
        count = c_size_t()
        check(self._network._call(lib.smlp_metadata_count_get, byref(count)))
        return int(count.value)

    def __repr__(self) -> str:
        return f"Metadata({dict(self.items())!r})"


def _key(key: str) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"metadata keys are str, not {type(key).__name__}")
    return c_text(key, "a metadata key")
