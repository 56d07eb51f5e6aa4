#!/usr/bin/env python3
"""Reads the MRZ of each image with PassportEye (MRZ only), for the comparison in
benches/documents.rs. usage: passporteye_mrz.py IMAGE...
Prints one JSON line per image: {"image", "lines" (or null), "ms"}.
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")
from passporteye import read_mrz  # noqa: E402

for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        mrz = read_mrz(path)
        lines = mrz.aux["text"].splitlines() if mrz is not None else None
    except Exception:  # PassportEye raises on images it cannot segment
        lines = None
    ms = (time.perf_counter() - start) * 1000.0
    print(json.dumps({"image": path, "lines": [l for l in lines if l.strip()] if lines else None, "ms": ms}), flush=True)
