#!/usr/bin/python3
"""Write the calibration faces for scripts/facenet_to_onnx.py's int8 quantisation.

Run with Debian's python3 (its python3-opencv, OpenCV 4.6, decodes the clip and
warps the faces; scripts/setup installs it); the converter's own venv cannot load it.
Needs nothing built: the faces are fixed, not detected here.

The faces are the face-match tuning photos (obama, obama2, obama3, biden; see
DEFAULT_MATCH_THRESHOLD in src/vision/embedding.rs) and 20 frames of the carphone clip
at its own 176x144 (frames 3, 9, ..., 117: none of them is a check-set frame, which are
0, 30, 60, 90 and 119). The check set (obama_partial_face*, astronaut, those frames) is
never used. Each face is aligned as the daemon aligns one (TEMPLATE and VERTICAL_SQUEEZE
in src/vision/embedding.rs) from the five landmarks below: the ones `idverifd face
detect` (YuNet) gave on these images, rounded to 0.1 px and written down here so the
faces, and with them the quantised model, are the same on every machine.

Usage: facenet_calibration.py MEDIA_DIR OUT.npy
Writes an array of N x 160 x 160 x 3 uint8 RGB faces. Exit 1 with the reason on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import cv2
    import numpy as np
except ImportError as e:
    sys.exit(f"facenet_calibration: {e}: run it with Debian's /usr/bin/python3 "
             "(python3-opencv; scripts/setup installs it)")

# src/vision/embedding.rs: TEMPLATE, VERTICAL_SQUEEZE, INPUT_SIZE.
TEMPLATE = np.array([(52.4, 65.0), (107.6, 65.0), (80.0, 88.2), (54.4, 111.3), (105.6, 111.3)])
VERTICAL_SQUEEZE = 0.76
SIZE = 160

PHOTOS = {
    "obama.jpg": ((437.4, 206.5), (553.0, 205.9), (492.7, 270.8), (440.5, 317.7), (548.9, 318.1)),
    "obama2.jpg": ((252.5, 360.7), (376.4, 382.2), (281.9, 446.1), (237.5, 502.2), (342.9, 519.9)),
    "obama3.jpg": ((733.6, 390.9), (861.7, 391.6), (804.6, 459.7), (733.7, 514.3), (846.6, 515.3)),
    "biden.jpg": ((525.0, 321.1), (652.2, 336.1), (596.3, 407.6), (515.0, 461.3), (623.5, 475.3)),
}
CLIP = "carphone_pristine.mp4"
FRAMES = {
    3: ((76.8, 56.8), (97.5, 55.9), (89.9, 68.6), (81.2, 80.2), (98.7, 78.8)),
    9: ((73.1, 57.0), (94.2, 56.3), (85.4, 68.8), (76.8, 79.8), (94.8, 79.8)),
    15: ((75.7, 55.6), (96.2, 55.2), (87.6, 67.5), (78.5, 78.8), (96.0, 78.1)),
    21: ((79.0, 55.0), (98.8, 54.7), (90.6, 66.6), (81.6, 77.9), (98.5, 77.0)),
    27: ((72.3, 56.2), (94.5, 55.7), (83.9, 68.0), (75.4, 78.6), (94.0, 78.4)),
    33: ((62.6, 60.1), (86.7, 58.6), (74.7, 72.1), (69.0, 85.1), (88.6, 81.8)),
    39: ((62.0, 61.8), (84.6, 60.8), (74.0, 74.2), (67.6, 86.4), (86.5, 83.8)),
    45: ((62.7, 60.1), (85.8, 58.9), (75.0, 72.2), (68.4, 85.7), (88.2, 82.3)),
    51: ((63.7, 58.0), (87.6, 56.8), (76.3, 69.6), (68.6, 82.8), (88.1, 79.9)),
    57: ((66.4, 55.9), (89.6, 55.1), (78.8, 67.5), (71.2, 79.8), (90.5, 78.4)),
    63: ((67.4, 49.6), (87.7, 48.7), (79.3, 61.9), (69.8, 74.1), (88.9, 74.7)),
    69: ((66.3, 52.0), (88.6, 51.1), (78.9, 64.7), (70.3, 75.9), (90.1, 75.6)),
    75: ((64.2, 46.6), (85.0, 44.7), (78.5, 57.2), (68.6, 70.3), (87.7, 67.9)),
    81: ((58.1, 46.4), (78.8, 45.3), (71.5, 57.6), (61.9, 70.1), (80.5, 70.3)),
    87: ((53.5, 59.4), (73.8, 57.2), (69.1, 71.0), (61.3, 81.7), (80.1, 81.5)),
    93: ((55.1, 58.2), (75.1, 56.1), (70.7, 69.5), (62.6, 80.1), (81.1, 79.9)),
    99: ((58.5, 54.9), (79.4, 54.2), (72.7, 66.8), (61.8, 77.9), (80.5, 78.1)),
    105: ((59.1, 53.3), (80.5, 52.3), (74.0, 65.6), (63.1, 79.1), (82.5, 77.4)),
    111: ((60.4, 54.9), (80.7, 53.9), (74.6, 67.1), (64.3, 79.3), (82.0, 78.5)),
    117: ((63.9, 52.0), (83.9, 50.4), (79.1, 64.0), (68.9, 74.8), (86.6, 76.4)),
}
CHECK_FRAMES = {0, 30, 60, 90, 119}
assert not CHECK_FRAMES & set(FRAMES), "a check-set frame must never calibrate the model"


def alignment(landmarks) -> np.ndarray:
    """src/vision/embedding.rs `alignment`: the least-squares similarity onto the
    unsqueezed template, then the vertical squeeze about the crop's centre line."""
    src = np.asarray(landmarks, dtype=np.float64)
    centre = SIZE / 2.0
    dst = TEMPLATE.copy()
    dst[:, 1] = centre + (dst[:, 1] - centre) / VERTICAL_SQUEEZE
    s_mean, d_mean = src.mean(axis=0), dst.mean(axis=0)
    p, q = src - s_mean, dst - d_mean
    norm = (p * p).sum()
    a = (p[:, 0] * q[:, 0] + p[:, 1] * q[:, 1]).sum() / norm
    b = (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() / norm
    tx = d_mean[0] - (a * s_mean[0] - b * s_mean[1])
    ty = d_mean[1] - (b * s_mean[0] + a * s_mean[1])
    k = VERTICAL_SQUEEZE
    return np.array([[a, -b, tx], [k * b, k * a, k * ty + centre * (1 - k)]])


def face(bgr: np.ndarray, landmarks) -> np.ndarray:
    crop = cv2.warpAffine(bgr, alignment(landmarks), (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(127.5, 127.5, 127.5))
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    media, out = Path(sys.argv[1]), Path(sys.argv[2])
    faces = []
    for name, landmarks in PHOTOS.items():
        bgr = cv2.imread(str(media / name), cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"facenet_calibration: cannot read {media / name} (run scripts/setup)")
        faces.append(face(bgr, landmarks))
    clip = cv2.VideoCapture(str(media / CLIP))
    index, wanted = 0, dict(FRAMES)
    while wanted:
        ok, bgr = clip.read()
        if not ok:
            sys.exit(f"facenet_calibration: {media / CLIP} ended before frame(s) {sorted(wanted)}")
        if bgr.shape[:2] != (144, 176):
            sys.exit(f"facenet_calibration: {media / CLIP}: frame {index} is {bgr.shape[1]}x{bgr.shape[0]}, not 176x144")
        if index in wanted:
            faces.append(face(bgr, wanted.pop(index)))
        index += 1
    np.save(out, np.stack(faces))
    print(f"facenet_calibration: {len(faces)} faces -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
