#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_api (Tests/fuzz_api/corpus/): short call sequences.

Each seed is a create op followed by a few other ops; the argument bytes of each op
are drawn from a fixed generator and kept mostly small (< 120), so that the harness
decodes ordinary sizes and values and the fuzzer starts from runs that get deep into
the library. The op codes are those of LLVMFuzzerTestOneInput's switch (op % 24).

    python3 Tests/fuzz_api/make_corpus.py        # rewrites corpus/seed_*.bin
"""
import os
import random

OPS = {"create": 0, "free": 2, "predict": 3, "gradients": 4, "step": 5, "train": 7,
       "evaluate": 8, "set_optimizer": 9, "params": 10, "scaler": 11, "metadata": 12,
       "roundtrip": 13, "load_raw": 14, "cache": 15, "gradcheck": 16, "apply": 17,
       "queries": 18, "misc": 20}

SEEDS = [
    ["step", "step", "predict", "roundtrip"],
    ["train", "evaluate", "predict"],
    ["gradients", "cache", "gradcheck"],
    ["set_optimizer", "step", "step", "apply", "roundtrip"],
    ["scaler", "step", "predict", "scaler"],
    ["metadata", "metadata", "roundtrip", "metadata"],
    ["params", "params", "predict", "step"],
    ["queries", "misc", "free", "create", "step"],
    ["train", "train", "roundtrip", "step"],
    ["load_raw", "create", "gradcheck", "evaluate"],
]


# op_files seeds (op byte 0xEB: op % 24 == 19 with the top three bits set), each
# after 32 zero bytes, which decode as a create of a small model in slot 0. The bytes
# after the op: slot 0, flags 0x06 (save and export), then the path kind of op_files
# (5 dangling link, 6 link loop, 7 link into a missing folder, 8 FIFO, 9 long name,
# whose next bytes choose the length: 254, 0 is NAME_MAX; 254, 1 is NAME_MAX + 1).
FILE_SEEDS = {
    "files_dangling_link": [5],
    "files_link_loop": [6],
    "files_link_into_missing_folder": [7],
    "files_fifo": [8],
    "files_name_max": [9, 254, 0],
    "files_name_max_plus_one": [9, 254, 1],
    "files_long_name": [9, 243],
}


def args(rng, n=48):
    # slot 0 first, then mostly small bytes, now and then a large (hostile) one
    return bytes([0] + [rng.randrange(256) if rng.random() < 0.05 else rng.randrange(120)
                        for _ in range(n - 1)])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("seed_"):
            os.remove(os.path.join(out, old))
    for index, ops in enumerate(SEEDS):
        rng = random.Random(1000 + index)
        data = bytes([OPS["create"]]) + args(rng, 40)
        for op in ops:
            data += bytes([OPS[op]]) + args(rng)
        with open(os.path.join(out, "seed_%02d_%s.bin" % (index, "_".join(ops))), "wb") as f:
            f.write(data)
    for index, (name, tail) in enumerate(FILE_SEEDS.items(), start=len(SEEDS)):
        with open(os.path.join(out, "seed_%02d_%s.bin" % (index, name)), "wb") as f:
            f.write(bytes(32) + bytes([0xEB, 0, 0x06] + tail))


if __name__ == "__main__":
    main()
