#!/usr/bin/env python3
"""Export scikit-learn's bundled 8x8 handwritten digits to plain CSV files.

Why: the swiftmlp examples and tests need a small, real classification data
set that a C (or Swift) program can read with nothing but the standard
library. scikit-learn ships the UCI "Optical Recognition of Handwritten
Digits" data (1,797 samples, CC BY 4.0) inside the package, so
`load_digits()` needs no network access.

What: writes, relative to the repository root,

    examples/data/digits_train.csv   (80 % of the samples)
    examples/data/digits_test.csv    (20 % of the samples)
    examples/data/README.md          (provenance, licence, format)

Each CSV line is 64 integer pixel values (0..16, unscaled, row-major 8x8)
followed by the integer label (0..9), comma-separated, no header, "\\n"
line endings. The split is stratified with a fixed seed, so running the
script again produces byte-identical files.

Usage: python3 scripts/export_digits.py   (needs: pip install scikit-learn)
"""

from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0
TEST_SIZE = 0.2
N_FEATURES = 64
N_CLASSES = 10

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "examples" / "data"


def to_int_arrays(X, y):
    """Convert the float pixel matrix to integers, checking nothing is lost."""
    X_int = X.astype(np.int64)
    y_int = np.asarray(y).astype(np.int64)
    assert X.shape[1] == N_FEATURES
    assert np.array_equal(X_int, X), "pixels are not whole numbers"
    assert X_int.min() >= 0 and X_int.max() <= 16, "pixel outside 0..16"
    assert y_int.min() >= 0 and y_int.max() < N_CLASSES, "label outside 0..9"
    return X_int, y_int


def write_csv(path, X, y):
    """Write one sample per line: 64 pixels then the label."""
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for row, label in zip(X, y):
            f.write(",".join(str(int(v)) for v in row))
            f.write(",%d\n" % int(label))


def class_counts(y):
    return np.bincount(y, minlength=N_CLASSES).tolist()


def write_readme(path, n_train, n_test, train_counts, test_counts):
    counts_table = "\n".join(
        "| %d | %d | %d |" % (c, train_counts[c], test_counts[c])
        for c in range(N_CLASSES)
    )
    text = f"""\
# Handwritten digits (8x8) data set

Written by `scripts/export_digits.py` (this file included); do not edit by hand.

## Source and licence

Optical Recognition of Handwritten Digits, UCI Machine Learning Repository,
as bundled with scikit-learn (`sklearn.datasets.load_digits`). scikit-learn's
copy is the 1,797-sample test part (`optdigits.tes`) of the UCI data set.

- Creators: E. Alpaydin, C. Kaynak (Bogazici University), 1998.
- Repository: https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits
- Licence: Creative Commons Attribution 4.0 International (CC BY 4.0),
  https://creativecommons.org/licenses/by/4.0/

Attribution: Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of
Handwritten Digits [Dataset]. UCI Machine Learning Repository.
The files here are a reformatted train/test split of that data; the values
themselves are unchanged.

## Files

| File | Rows |
|------|------|
| `digits_train.csv` | {n_train} |
| `digits_test.csv` | {n_test} |

## Format

Plain ASCII CSV, no header line, `\\n` line endings, one sample per line:
{N_FEATURES} integer pixel values in 0..16 (the 8x8 image, row-major, not
scaled) followed by the integer class label in 0..9, i.e. 65 comma-separated
integers per line. `examples/digits_data.h` reads these files from C.

## Split

`sklearn.model_selection.train_test_split(X, y, test_size={TEST_SIZE},
random_state={SEED}, stratify=y)` on the full 1,797 samples, so each class
keeps the same proportion in both files. Samples per class:

| Label | Train | Test |
|-------|-------|------|
{counts_table}

## Regenerating

```sh
pip install scikit-learn
python3 scripts/export_digits.py
```

The output is deterministic (fixed seed); re-running it gives byte-identical
files.

# FANN's XOR network

`xor_fann.net` is FANN's own XOR example network (2-3-1, FANN_SIGMOID_SYMMETRIC,
inputs and targets -1/1) as libdoublefann 2.2 trained and saved it (`fann_save`,
FANN_FLO_2.1 text). `examples/python/import_models.py` and the binding's tests read
it with `swiftmlp.interop.load_fann`; for the inputs (-1,-1), (-1,1), (1,-1), (1,1)
FANN's `fann_run` gave -0.93815161108049705, 0.96676216098216283,
0.96657989772585218, -0.93481828353016327. It is the output of FANN's example
program (FANN is LGPL 2.1), kept as test data; scripts/export_digits.py does not
write it.
"""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    digits = load_digits()
    X, y = to_int_arrays(digits.data, digits.target)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=SEED, stratify=y
    )

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_csv(OUT_DIR / "digits_train.csv", X_train, y_train)
    write_csv(OUT_DIR / "digits_test.csv", X_test, y_test)
    write_readme(
        OUT_DIR / "README.md",
        len(y_train),
        len(y_test),
        class_counts(y_train),
        class_counts(y_test),
    )
    print(
        "wrote %d train + %d test samples to %s (scikit-learn %s)"
        % (len(y_train), len(y_test), OUT_DIR, sklearn.__version__)
    )


if __name__ == "__main__":
    main()
