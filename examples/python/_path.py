"""Lets the examples run from a checkout without `pip install`: when the swiftmlp
package is not installed, use the copy in bindings/python next to this folder.
(Point SWIFTMLP_LIBRARY at build/lib/libswiftmlp.so.0 in that case.)"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("swiftmlp") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
