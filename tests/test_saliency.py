"""Importance maps: shape, range, determinism, and the face term."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from focuspress.engine.saliency import load_saliency
from focuspress.engine.saliency.cam import network_size

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def astronaut(sample_path=None):
    from tests.conftest import SAMPLE

    return np.asarray(Image.open(SAMPLE).convert("RGB"))


def test_network_sizes_are_few():
    sizes = {network_size(h, w) for h in range(100, 2000, 37) for w in range(100, 2000, 41)}
    assert all(max(s) == 448 and s[0] % 32 == 0 and s[1] % 32 == 0 for s in sizes)
    assert len(sizes) <= 30


def test_cam_map_shape_range_determinism(astronaut):
    model = load_saliency("cam")
    a = model.predict(astronaut)
    b = model.predict(astronaut)
    assert a.shape == astronaut.shape[:2] and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0 and a.max() > 0.9
    np.testing.assert_array_equal(a, b)
    odd = model.predict(astronaut[:123, :301])
    assert odd.shape == (123, 301)


def test_face_term_lights_the_face(astronaut):
    faces = load_saliency("faces")
    boxes = faces.detect(astronaut)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 150 < x + w / 2 < 260 and 60 < y + h / 2 < 170  # Eileen Collins' face
    combined = load_saliency("combined").predict(astronaut)
    face_value = combined[int(y + h / 2), int(x + w / 2)]
    assert face_value > 0.95 and combined.mean() < 0.5


def test_faces_are_found_where_they_are_in_any_layout(astronaut):
    """Two faces side by side (a wide photo, letterboxed with bars above and below), the same photo
    upright and turned: each face is found once, where it is, in the photo's coordinates."""
    faces = load_saliency("faces")
    (x, y, w, h), *_ = faces.detect(astronaut)
    width = astronaut.shape[1]
    pair = faces.detect(np.hstack([astronaut, astronaut]))
    assert len(pair) == 2
    for found, shift in zip(sorted(pair), (0, width)):
        assert abs(found[0] - (x + shift)) < 0.1 * w and abs(found[1] - y) < 0.1 * h
        assert 0.8 < found[2] / w < 1.25
    tall = faces.detect(np.vstack([astronaut, astronaut[::-1, ::-1]]))  # the second face upside down
    assert len(tall) >= 1 and abs(tall[0][1] - y) < 0.1 * h


def test_no_face_no_box(kodak_dir):
    """Photos without a person (a lighthouse, parrots, a barn, a plane) light nothing: the term must
    not spend bytes on whatever looks a little like a face."""
    faces = load_saliency("faces")
    for index in (19, 23, 22, 20):
        rgb = np.asarray(Image.open(kodak_dir / f"kodim{index:02d}.png").convert("RGB"))
        assert faces.detect(rgb) == [], f"kodim{index:02d}"


def test_the_shipped_face_weights_are_the_extracted_ones():
    """The file the map runs is the one ``training/extract_face_detector.py`` extracts and checks."""
    import hashlib

    from focuspress.engine.saliency.faces import MODEL_PATH
    from focuspress.training.extract_face_detector import SHA256

    assert hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest() == SHA256


def test_batch_equals_single(astronaut):
    model = load_saliency("cam")
    other = astronaut[::-1].copy()
    batch = model.predict_batch([astronaut, other])
    np.testing.assert_allclose(batch[0], model.predict(astronaut), atol=1e-5)
    np.testing.assert_allclose(batch[1], model.predict(other), atol=1e-5)


def test_converted_backbone_classifies_kodak_parrots(kodak_dir):
    import cv2

    from focuspress.engine.saliency.efficientnet_lite import build_efficientnet_lite0, load_weights, preprocess

    model = build_efficientnet_lite0()
    load_weights(model)
    rgb = np.asarray(Image.open(kodak_dir / "kodim23.png").convert("RGB"))
    x = preprocess(cv2.resize(rgb, (320, 224), interpolation=cv2.INTER_AREA))[None]
    _, logits = model(x, training=False)
    assert int(np.argmax(logits[0])) == 88  # ImageNet "macaw"


def test_trained_map_finds_a_salient_object():
    """A bright object on a dull background lights up; the background stays dark."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(90, 120, (320, 480, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:320, 0:480]
    disc = (yy - 160) ** 2 + (xx - 240) ** 2 < 70**2
    rgb[disc] = (230, 40, 30)
    model = load_saliency("trained")
    pred = model.predict(rgb)
    assert pred.shape == (320, 480) and 0.0 <= pred.min() and pred.max() <= 1.0
    assert pred[disc].mean() > 0.5 > pred[~disc].mean() + 0.2
    np.testing.assert_array_equal(pred, model.predict(rgb))


def test_photos_of_any_sizes_are_one_network_call_with_the_same_maps(astronaut):
    """The working size makes a batch one call (what a GPU host needs), and batching changes nothing."""
    from focuspress.engine.saliency.trained import TrainedSaliency

    model = TrainedSaliency()
    calls = []
    network = model._network

    def counting(batch):
        calls.append(batch.shape)
        return network(batch)

    model._network = counting
    photos = [astronaut, astronaut[:300, :450].copy(), np.ascontiguousarray(astronaut.transpose(1, 0, 2)[:, :200])]
    maps = model.predict_batch(photos)
    assert calls == [(3, 448, 448, 3)]
    for photo, heat in zip(photos, maps):
        assert heat.shape == photo.shape[:2] and heat.dtype == np.float32
        np.testing.assert_allclose(heat, model.predict(photo), atol=1e-4)


def test_litert_and_keras_give_the_same_map_within_the_stated_tolerance(astronaut):
    from focuspress.engine.saliency.network import KerasNetwork, LiteRtNetwork, working_batch
    from focuspress.training.export_tflite import TOLERANCE_MAX, TOLERANCE_MEAN

    batch, _ = working_batch([astronaut])
    difference = np.abs(KerasNetwork()(batch) - LiteRtNetwork()(batch))
    assert difference.mean() <= TOLERANCE_MEAN and difference.max() <= TOLERANCE_MAX
