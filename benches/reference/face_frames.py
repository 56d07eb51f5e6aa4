#!/usr/bin/python3
"""The per-frame face analysis a user would write with Debian's OpenCV, as the
yardstick for `idverifd liveness scan --every-frame` (benches/frame_budget.rs).

Decodes every frame of CLIP, scales it to WIDTHxHEIGHT, detects faces with YuNet
on a copy at most 640 pixels wide, and measures the most prominent face's
sharpness (variance of the Laplacian) and brightness. Prints one JSON object:
frames analysed, frames with a face and process CPU milliseconds per frame
(every thread, decoding included), the same figure idverifd prints.

Run with Debian's interpreter and python3-opencv:
    /usr/bin/python3 benches/reference/face_frames.py MODEL CLIP WIDTH HEIGHT
"""
import json
import sys
import time

import cv2
import numpy as np

DETECTION_WIDTH = 640
STRIDES = (8, 16, 32)
OUTPUTS = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES]


def best_face(net, image, threshold=0.7):
    """The highest-scoring YuNet (2023mar) box as (x, y, w, h), or None. Debian's
    OpenCV 4.6 FaceDetectorYN only knows the 2022 graph, so the net is run and
    decoded directly, as a user of this model on Debian would have to."""
    rows, cols = image.shape[:2]
    net.setInput(cv2.dnn.blobFromImage(image, 1.0, (cols, rows), (0, 0, 0), False, False))
    out = net.forward(OUTPUTS)
    best, best_score = None, threshold
    for i, stride in enumerate(STRIDES):
        cls, obj, bbox = out[i].reshape(-1), out[3 + i].reshape(-1), out[6 + i].reshape(-1, 4)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        idx = int(np.argmax(score))
        if score[idx] < best_score:
            continue
        grid_cols = cols // stride
        col, row = idx % grid_cols, idx // grid_cols
        b = bbox[idx]
        cx, cy, w, h = (col + b[0]) * stride, (row + b[1]) * stride, np.exp(b[2]) * stride, np.exp(b[3]) * stride
        best, best_score = (cx - w / 2, cy - h / 2, w, h), score[idx]
    return best


def main() -> int:
    model, clip, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    scale = min(1.0, DETECTION_WIDTH / width)
    det_size = (round(width * scale), round(height * scale))
    # The 2023 YuNet graph needs sides that are multiples of 32: pad right and bottom.
    padded = tuple(-(-side // 32) * 32 for side in det_size)
    net = cv2.dnn.readNetFromONNX(model)
    capture = cv2.VideoCapture(clip)
    if not capture.isOpened():
        print(f"{clip}: cannot open", file=sys.stderr)
        return 2
    frames = faces_found = 0
    started = time.process_time()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        small = frame if scale == 1.0 else cv2.resize(frame, det_size, interpolation=cv2.INTER_AREA)
        small = cv2.copyMakeBorder(small, 0, padded[1] - det_size[1], 0, padded[0] - det_size[0], cv2.BORDER_CONSTANT)
        face_box = best_face(net, small)
        frames += 1
        if face_box is None:
            continue
        faces_found += 1
        x, y, w, h = (int(v / scale) for v in face_box)
        x, y = max(x, 0), max(y, 0)
        face = cv2.cvtColor(frame[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY)
        if face.size:
            cv2.Laplacian(face, cv2.CV_64F).var()
            face.mean()
    cpu_ms = (time.process_time() - started) * 1000.0
    print(json.dumps({"frames_analysed": frames, "faces": faces_found,
                      "cpu_ms_per_frame": round(cpu_ms / max(frames, 1), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
