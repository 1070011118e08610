"""A face term: salient-object maps miss faces, and faces are where people look first.

MediaPipe's BlazeFace full-range detector (``weights/face_detection_full_range.tflite``, see
``weights/face_detector.md``), run by LiteRT on the CPU, finds faces frontal and in profile; each
becomes a soft elliptical blob a little larger than the box, so hair and chin keep detail too.

Why BlazeFace and not OpenCV's Haar cascade (the term until 2026-12): measured on the project's
1,274 photos (Kodak, ECSSD, BSDS500, Unsplash, camera-native, camera), the cascade cost 53 ms a
photo on one core and found 162 boxes, about a third of them not faces (fur, jeans, signs, owls,
an eagle); BlazeFace costs about 5 ms and found 299 at its score 0.6, nearly all faces (profiles,
sunglasses, helmets, small faces in crowds), 111 of them where the cascade had one. The contact
sheets behind those counts are described in ``weights/face_detector.md``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("weights") / "face_detection_full_range.tflite"
#: The network's square input: the photo is letterboxed into it (aspect kept, black bars).
INPUT_SIDE = 192
#: One anchor per cell of a 48x48 grid (stride 4), boxes relative to the anchor in input pixels.
ANCHOR_GRID = 48
#: A detection's lowest score. At 0.5-0.6 about half of the extra boxes were faces (animals,
#: statues and flowers the rest); from 0.6 up nearly all were.
MIN_SCORE = 0.6
#: Boxes overlapping more than this (intersection over union) are one face (MediaPipe's weighted
#: non-maximum suppression: the overlapping boxes' average, weighted by score).
SAME_FACE_IOU = 0.3
#: The blob around a face box (x, y, w, h): its centre a little above the box's and its radii this
#: many box widths and heights, so that it covers what the Haar cascade's blob covered (on the 111
#: faces both found, the cascade's boxes were 1.1x as wide and centred 5% of a height higher).
BLOB_RISE, BLOB_RX, BLOB_RY = 0.05, 0.83, 1.05

Box = tuple[int, int, int, int]


class FaceSaliency:
    """Importance 1 on detected faces, 0 elsewhere, with soft edges."""

    name = "faces"

    def __init__(self, path: Path = MODEL_PATH) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from focuspress.engine.saliency.network import quiet_stderr

        if not path.exists():
            raise RuntimeError(f"the face detector's weights are missing: {path}")
        with quiet_stderr():  # LiteRT announces its CPU delegate on stderr
            # one thread: the detector runs beside the object network, which has the others
            self._interpreter = Interpreter(model_path=str(path), num_threads=1)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = self._interpreter.get_output_details()
        self._boxes = next(o["index"] for o in outputs if o["shape"][-1] == 16)
        self._scores = next(o["index"] for o in outputs if o["shape"][-1] == 1)
        centres = (np.arange(ANCHOR_GRID, dtype=np.float32) + 0.5) * (INPUT_SIDE / ANCHOR_GRID)
        xs, ys = np.meshgrid(centres, centres)
        self._anchors = np.stack([xs.ravel(), ys.ravel()], axis=1)  # row by row, as the network's output
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes (x, y, w, h) in the photo's coordinates, the surest first."""
        canvas, scale, (left, top) = _letterbox(rgb)
        with self._lock:
            self._interpreter.set_tensor(self._input, canvas[None])
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._boxes)[0]
            logits = self._interpreter.get_tensor(self._scores)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = scores >= MIN_SCORE
        centres = self._anchors[keep] + raw[keep, :2]
        sizes = raw[keep, 2:4]
        boxes = np.concatenate([centres - sizes / 2.0, sizes], axis=1)
        boxes[:, 0] = (boxes[:, 0] - left) / scale
        boxes[:, 1] = (boxes[:, 1] - top) / scale
        boxes[:, 2:] /= scale
        h, w = rgb.shape[:2]
        out = []
        for x, y, bw, bh in _merge(boxes, scores[keep]):
            x0, y0 = max(0.0, x), max(0.0, y)
            x1, y1 = min(float(w), x + bw), min(float(h), y + bh)
            if x1 > x0 and y1 > y0:
                out.append((int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))))
        return out

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        out = np.zeros((h, w), dtype=np.float32)
        for x, y, bw, bh in self.detect(rgb):
            cx, cy = x + bw / 2.0, y + bh * (0.5 - BLOB_RISE)
            rx, ry = BLOB_RX * bw, BLOB_RY * bh
            # The blob is zero beyond sqrt(1.5) radii: evaluate it only over that window.
            reach = np.sqrt(1.5)
            x0, x1 = max(0, int(cx - reach * rx)), min(w, int(np.ceil(cx + reach * rx)) + 1)
            y0, y1 = max(0, int(cy - reach * ry)), min(h, int(np.ceil(cy + reach * ry)) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            dist = np.square((xx - cx) / rx) + np.square((yy - cy) / ry)
            window = out[y0:y1, x0:x1]
            np.maximum(window, np.clip(1.5 - dist, 0.0, 1.0), out=window)
        return out

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [self.predict(image) for image in images]


def _letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The photo in the network's square input (long side :data:`INPUT_SIDE`, centred, black bars),
    scaled to [-1, 1]; the scale and the (left, top) offset that map input pixels back."""
    import cv2

    h, w = rgb.shape[:2]
    scale = INPUT_SIDE / max(h, w)
    nh, nw = max(1, min(INPUT_SIDE, round(h * scale))), max(1, min(INPUT_SIDE, round(w * scale)))
    small = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.full((INPUT_SIDE, INPUT_SIDE, 3), -1.0, dtype=np.float32)
    top, left = (INPUT_SIDE - nh) // 2, (INPUT_SIDE - nw) // 2
    canvas[top : top + nh, left : left + nw] = small.astype(np.float32) / 127.5 - 1.0
    return canvas, scale, (left, top)


def _merge(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[float, float, float, float]]:
    """MediaPipe's weighted non-maximum suppression: the surest box and every box overlapping it by
    more than :data:`SAME_FACE_IOU` become their score-weighted average; repeat on the rest.
    (Written here because OpenCV's ``cv2.dnn.NMSBoxes`` keeps the surest box of a group instead of
    averaging it: the network's neighbouring anchors each place the box a little off, and their
    average is the placement MediaPipe's own pipeline reports.)"""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    merged = []
    while len(boxes):
        overlap = _iou(boxes[0], boxes)
        group = overlap > SAME_FACE_IOU
        group[0] = True
        weights = scores[group][:, None]
        x, y, bw, bh = (boxes[group] * weights).sum(axis=0) / weights.sum()
        merged.append((float(x), float(y), float(bw), float(bh)))
        boxes, scores = boxes[~group], scores[~group]
    return merged


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y1 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x1 - x0, 0.0, None) * np.clip(y1 - y0, 0.0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return inter / np.maximum(union, 1e-9)
