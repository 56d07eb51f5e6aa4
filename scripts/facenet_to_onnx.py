#!/usr/bin/env python3
"""Make the int8 FaceNet ONNX model the daemon runs through ONNX Runtime from the
FaceNet TensorFlow graph (models/facenet_graph_final.pb).

Run in the venv scripts/setup makes for it (target/facenet-convert-venv, the packages
of scripts/facenet_to_onnx.requirements.txt); scripts/fetch_models.py runs it when the
model is missing, and checks the result's SHA-256 against models/manifest.toml.

  1. tf2onnx: the graph as ONNX (opset 17), float32. The graph has one input,
     `input:0`, 1x160x160x3 RGB (NHWC: tf2onnx keeps TensorFlow's layout at the input),
     and one output, `embeddings:0`, 1x512, L2-normalised.
  2. canonical bytes: the graph's doc string names the input file without its
     directory; tf2onnx merges identical constants and keeps whichever name a set
     iteration gives first, so the same graph comes out under other names run to
     run: every weight is renamed after the first node that reads it, and sorted.
  3. onnxruntime's static quantisation: QDQ, weights int8 per channel, activations
     uint8 (the U8S8 kernels: AVX-512 VNNI and AVX2 have them), ranges from the
     Percentile (99.999) calibrator on the faces scripts/facenet_calibration.py aligns
     (tuning photos and carphone frames, none of the check set). The bottleneck Gemm
     and the final L2 normalisation stay float32 (quantised, they cost accuracy and no
     time). Weights use 7 bits (reduce_range): see the manifest entry.
  4. the result's input and output are checked and one face is run through it.

Usage: facenet_to_onnx.py --converter tf2onnx==VERSION INPUT.pb > OUTPUT.onnx
Every package of the requirements file must be installed at its pinned version.
The same input and packages give the same bytes (checked: two runs, one SHA-256).
Exit status 0 with the model on stdout, 1 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "scripts" / "facenet_to_onnx.requirements.txt"
CALIBRATION = ROOT / "scripts" / "facenet_calibration.py"
MEDIA = ROOT / "models" / "media"
# Debian's python3, for python3-opencv (OpenCV 4.6), which aligns the calibration faces.
DEBIAN_PYTHON = "/usr/bin/python3"

INPUT, OUTPUT = "input:0", "embeddings:0"
OPSET = 17
# Kept float32: the bottleneck (the Gemm tf2onnx fuses with its batch norm) and the
# L2 normalisation after it.
FLOAT_TAIL = ["MatMulBnFusion_Gemm", "embeddings/Square", "embeddings"]
PERCENTILE = 99.999


def die(msg: str) -> None:
    sys.exit(f"facenet_to_onnx: {msg}")


def check_pins(converter: str) -> None:
    pins = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    pins = [p for p in pins if p]
    if converter not in pins:
        die(f"the manifest names {converter}, {REQUIREMENTS.name} does not pin it")
    wrong = []
    for pin in pins:
        name, _, version = pin.partition("==")
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "none"
        if installed != version:
            wrong.append(f"{name} {installed} (pinned {version})")
    if wrong:
        die(f"not the pinned packages: {', '.join(wrong)}; run scripts/setup")


def run(cmd: list[str], what: str, **kw) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.rstrip().splitlines()[-20:])
        die(f"{what} failed (exit {proc.returncode}):\n{tail}")


def canonical_names(model) -> None:
    graph = model.graph
    weights = {w.name for w in graph.initializer}
    renamed: dict[str, str] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in weights and name not in renamed:
                renamed[name] = f"const/{node.name}/in{k}"
    if len(renamed) != len(weights) or len(set(renamed.values())) != len(renamed):
        die("tf2onnx's graph has a weight no node reads, or two nodes of one name")
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in renamed:
                node.input[k] = renamed[name]
    for w in graph.initializer:
        w.name = renamed[w.name]
    ordered = sorted(graph.initializer, key=lambda w: w.name)
    copies = [type(w)() for w in ordered]
    for copy, w in zip(copies, ordered):
        copy.CopyFrom(w)
    del graph.initializer[:]
    graph.initializer.extend(copies)


def check(path: Path, faces) -> None:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (i,), (o,) = session.get_inputs(), session.get_outputs()
    if (i.name, list(i.shape), o.name, list(o.shape)) != (INPUT, [1, 160, 160, 3], OUTPUT, [1, 512]):
        die(f"unexpected model interface: {i.name} {i.shape} -> {o.name} {o.shape}")
    out = session.run(None, {INPUT: standardise(faces[0])})[0]
    norm = float(np.linalg.norm(out))
    if not np.isfinite(out).all() or abs(norm - 1) > 0.01:
        die(f"the quantised model's embedding of a calibration face has norm {norm}, not 1")


def standardise(face):
    """An RGB uint8 face as the network takes it: (x - 127.5) / 128, 1x160x160x3."""
    import numpy as np

    return ((face.astype(np.float32) - 127.5) / 128.0)[None]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--converter", required=True, help="tf2onnx==VERSION, as the manifest names it")
    ap.add_argument("input", type=Path)
    args = ap.parse_args()
    check_pins(args.converter)
    # The model goes to the real stdout; everything else (the quantiser prints its
    # progress there) to stderr, so nothing but the model's bytes reach the file.
    model_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    import numpy as np
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="idverifd-facenet-") as tmp:
        tmp = Path(tmp)
        run([DEBIAN_PYTHON, str(CALIBRATION), str(MEDIA), str(tmp / "faces.npy")], "aligning the calibration faces")
        faces = np.load(tmp / "faces.npy")
        env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
        run([sys.executable, "-m", "tf2onnx.convert", "--graphdef", str(args.input), "--inputs", INPUT,
             "--outputs", OUTPUT, "--opset", str(OPSET), "--output", str(tmp / "converted.onnx")], "tf2onnx", env=env)
        model = onnx.load(tmp / "converted.onnx")
        # tf2onnx writes the input's path here: the file name only, so where the
        # checkout is does not change the bytes.
        model.graph.doc_string = f"converted from {args.input.name}"
        canonical_names(model)
        onnx.checker.check_model(model)
        onnx.save(model, tmp / "fp32.onnx")
        quant_pre_process(str(tmp / "fp32.onnx"), str(tmp / "pre.onnx"), skip_symbolic_shape=True)

        class Faces(CalibrationDataReader):
            def __init__(self):
                self.faces = iter(faces)

            def get_next(self):
                face = next(self.faces, None)
                return None if face is None else {INPUT: standardise(face)}

        quantize_static(str(tmp / "pre.onnx"), str(tmp / "int8.onnx"), Faces(), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=FLOAT_TAIL,
                        extra_options={"CalibMovingAverage": False, "CalibPercentile": PERCENTILE})
        check(tmp / "int8.onnx", faces)
        model_out.write((tmp / "int8.onnx").read_bytes())
        model_out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
