"""``focuspress train saliency``: train the importance maps the engine uses.

Mask layout: the EfficientNet-Lite0 backbone is frozen, so its feature pyramid is computed once
per augmented view (flips, scale crops) and cached in memory; the small decoder then trains on
the cache for as many epochs as the time box allows. Class layout: the ImageNet classifier is
replaced by one for the folders' classes, trained on pooled backbone features, and its class
activation maps become the ``cam`` map.

Resumable (``--out/ckpt``), seeded, with a progress bar and ``--out/log.csv``; CPU by default,
GPU when TensorFlow sees one.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuspress.training.datasets import class_samples, layout, mask_pairs, split

INPUT_SIDE = 320
SEED = 0


@dataclass
class TrainResult:
    epochs: int
    seconds: float
    val_mae: float
    val_max_f: float
    weights: Path


def _read_rgb(path: Path) -> np.ndarray:
    from focuspress.engine.io import load_image

    return load_image(path).rgb


def _read_mask(path: Path) -> np.ndarray:
    return (_read_rgb(path)[..., 0] > 127).astype(np.float32)


def _views(rgb: np.ndarray, mask: np.ndarray, count: int, rng: np.random.Generator):
    """``count`` augmented (image, mask) views at INPUT_SIDE: the whole image, its mirror, crops."""
    import cv2

    h, w = rgb.shape[:2]
    for k in range(count):
        if k < 2:
            y0, x0, ch, cw = 0, 0, h, w
        else:
            scale = rng.uniform(0.6, 0.95)
            ch, cw = int(h * scale), int(w * scale)
            y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        img = rgb[y0 : y0 + ch, x0 : x0 + cw]
        msk = mask[y0 : y0 + ch, x0 : x0 + cw]
        if k % 2 == 1:
            img, msk = img[:, ::-1], msk[:, ::-1]
        img = cv2.resize(np.ascontiguousarray(img), (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
        target = cv2.resize(np.ascontiguousarray(msk), (INPUT_SIDE // 8, INPUT_SIDE // 8), interpolation=cv2.INTER_AREA)
        yield img, target


def _features(pyramid, images: np.ndarray, batch: int = 16) -> list[np.ndarray]:
    from focuspress.engine.saliency.efficientnet_lite import preprocess

    outs: list[list[np.ndarray]] = [[], [], []]
    for start in range(0, len(images), batch):
        feats = pyramid(preprocess(images[start : start + batch]), training=False)
        for i, f in enumerate(feats):
            outs[i].append(f.numpy().astype(np.float16))
    return [np.concatenate(o) for o in outs]


def max_f_measure(pred: np.ndarray, mask: np.ndarray, beta2: float = 0.3, thresholds: int = 255) -> np.ndarray:
    """F-measure at each threshold (the curve; its max is the usual 'max F')."""
    t = np.linspace(0, 1, thresholds, endpoint=False)
    positive = mask > 0.5
    pred_pos = pred[None] >= t[:, None]
    tp = (pred_pos & positive.ravel()[None]).sum(axis=1).astype(np.float64)
    precision = tp / np.maximum(pred_pos.sum(axis=1), 1)
    recall = tp / max(int(positive.sum()), 1)
    return (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-12)


@dataclass
class FeatureSet:
    """The frozen backbone's pyramid (three float16 levels) for each view, and its target masks."""

    features: list[np.ndarray]
    targets: np.ndarray


def train_saliency(
    data: Path, out: Path, *, minutes: float | None = None, epochs: int = 12, views: int = 4, console=None
) -> TrainResult:
    """Train the map's decoder on ``data`` (mask layout; class folders go to :func:`_train_classes`),
    resuming from ``out/ckpt``, for ``epochs`` or until ``minutes`` have passed."""
    if layout(data) == "classes":
        return _train_classes(data, out, minutes=minutes, epochs=epochs, console=console)
    from focuspress.engine.saliency.tf_runtime import tensorflow
    from focuspress.engine.saliency.trained import save_head

    tensorflow().keras.utils.set_random_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)
    pairs = mask_pairs(data)
    train, val = split(pairs, "train"), split(pairs, "val")
    if not train or not val:
        raise ValueError(f"{data}: need at least {2 * 5} image/mask pairs, found {len(pairs)}")
    started = time.perf_counter()
    train_set, val_set = _feature_sets(train, val, views, np.random.default_rng(SEED), console)
    deadline = time.perf_counter() + minutes * 60 if minutes else None
    head, done, mae, max_f = _fit_head(train_set, val_set, out, epochs, deadline, started, console)
    weights = out / "saliency_head.npz"
    save_head(head, weights)
    return TrainResult(done, time.perf_counter() - started, mae, max_f, weights)


def _feature_sets(
    train: list, val: list, views: int, rng: np.random.Generator, console
) -> tuple[FeatureSet, FeatureSet]:
    """The backbone's features, computed once: ``views`` augmented views of each training pair, the
    whole image of each validation pair (the backbone is frozen, so the decoder's epochs reuse them)."""
    from rich.progress import Progress

    from focuspress.engine.saliency.efficientnet_lite import build_feature_pyramid

    pyramid = build_feature_pyramid()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("backbone features", total=len(train) + len(val))
        tr_img, tr_tgt, va_img, va_tgt = [], [], [], []
        for pair in train:
            for img, tgt in _views(_read_rgb(pair.image), _read_mask(pair.mask), views, rng):
                tr_img.append(img)
                tr_tgt.append(tgt)
            progress.advance(task)
        for pair in val:
            img, tgt = next(_views(_read_rgb(pair.image), _read_mask(pair.mask), 1, rng))
            va_img.append(img)
            va_tgt.append(tgt)
            progress.advance(task)
        tr_feat = _features(pyramid, np.stack(tr_img))
        va_feat = _features(pyramid, np.stack(va_img))
    return FeatureSet(tr_feat, np.stack(tr_tgt)[..., None]), FeatureSet(va_feat, np.stack(va_tgt)[..., None])


def _loss(tf, target, logits):
    """Binary cross-entropy plus soft IoU (the IoU term keeps small objects from vanishing)."""
    bce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits))
    prob = tf.sigmoid(logits)
    inter = tf.reduce_sum(prob * target, axis=[1, 2, 3])
    union = tf.reduce_sum(prob + target - prob * target, axis=[1, 2, 3])
    return bce + tf.reduce_mean(1.0 - (inter + 1.0) / (union + 1.0))


def _fit_head(
    train: FeatureSet, val: FeatureSet, out: Path, epochs: int, deadline: float | None, started: float, console
):
    """The decoder's epochs on cached features: checkpointed to ``out/ckpt`` after each (a rerun
    resumes there), one ``out/log.csv`` row each. Returns the head, the epochs done, and the last
    validation MAE and max F."""
    from rich.progress import Progress

    from focuspress.engine.saliency.tf_runtime import tensorflow
    from focuspress.engine.saliency.trained import build_head

    tf = tensorflow()
    head = build_head()
    steps_per_epoch = int(np.ceil(len(train.targets) / 32))
    schedule = tf.keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps_per_epoch * epochs, alpha=0.05)
    optimizer = tf.keras.optimizers.Adam(schedule)
    epoch_var = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(head=head, optimizer=optimizer, epoch=epoch_var)
    manager = tf.train.CheckpointManager(checkpoint, str(out / "ckpt"), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
    log_path = out / "log.csv"
    new_log = not log_path.exists() or int(epoch_var.numpy()) == 0

    @tf.function(reduce_retracing=True)
    def step(f8, f16, f32, target):
        with tf.GradientTape() as tape:
            loss = _loss(tf, target, head([f8, f16, f32], training=True))
        grads = tape.gradient(loss, head.trainable_variables)
        optimizer.apply_gradients(zip(grads, head.trainable_variables))
        return loss

    def validate() -> tuple[float, float, float]:
        logits = head([tf.constant(f, tf.float32) for f in val.features], training=False)
        loss = float(_loss(tf, tf.constant(val.targets), logits))
        prob = tf.sigmoid(logits).numpy()
        mae = float(np.mean(np.abs(prob - val.targets)))
        curves = [max_f_measure(p.ravel(), t.ravel()) for p, t in zip(prob, val.targets)]
        return loss, mae, float(np.max(np.mean(curves, axis=0)))

    order_rng = np.random.default_rng(SEED + int(epoch_var.numpy()))
    val_loss, mae, max_f = validate()
    with Progress(console=console) as progress, open(log_path, "a", newline="") as log_file:
        writer = csv.writer(log_file)
        if new_log:
            writer.writerow(["epoch", "train_loss", "val_loss", "val_mae", "val_max_f", "seconds"])
        task = progress.add_task("training decoder", total=epochs, completed=int(epoch_var.numpy()))
        while int(epoch_var.numpy()) < epochs:
            if deadline and time.perf_counter() > deadline:
                break
            order = order_rng.permutation(len(train.targets))
            losses = []
            for start in range(0, len(order), 32):
                idx = np.sort(order[start : start + 32])
                batch = [tf.constant(f[idx], tf.float32) for f in train.features]
                losses.append(float(step(*batch, tf.constant(train.targets[idx]))))
            epoch_var.assign_add(1)
            val_loss, mae, max_f = validate()
            writer.writerow(
                [int(epoch_var.numpy()), np.mean(losses), val_loss, mae, max_f, round(time.perf_counter() - started, 1)]
            )
            log_file.flush()
            manager.save()
            progress.update(
                task,
                completed=int(epoch_var.numpy()),
                description=f"training decoder · val MAE {mae:.3f} · max F {max_f:.3f}",
            )
    return head, int(epoch_var.numpy()), mae, max_f


def _train_classes(data: Path, out: Path, *, minutes: float | None, epochs: int, console=None) -> TrainResult:
    """Class folders: a new classifier on pooled backbone features (its CAMs become the map)."""
    import cv2
    from rich.progress import Progress

    from focuspress.engine.saliency.efficientnet_lite import build_efficientnet_lite0, load_weights, preprocess
    from focuspress.engine.saliency.tf_runtime import tensorflow

    tf = tensorflow()
    tf.keras.utils.set_random_seed(SEED)
    out.mkdir(parents=True, exist_ok=True)
    samples, classes = class_samples(data)
    train, val = split(samples, "train"), split(samples, "val")
    backbone = build_efficientnet_lite0(with_classifier=True)
    load_weights(backbone)
    started = time.perf_counter()

    def pooled(items):
        feats, labels = [], []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("backbone features", total=len(items))
            for path, label in items:
                rgb = cv2.resize(_read_rgb(path), (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_AREA)
                for view in (rgb, rgb[:, ::-1]):
                    fmap, _ = backbone(preprocess(np.ascontiguousarray(view)[None]), training=False)
                    feats.append(tf.reduce_mean(fmap, axis=[1, 2]).numpy()[0])
                    labels.append(label)
                progress.advance(task)
        return np.stack(feats), np.array(labels)

    x_train, y_train = pooled(train)
    x_val, y_val = pooled(val)
    classifier = tf.keras.Sequential([tf.keras.Input((x_train.shape[1],)), tf.keras.layers.Dense(len(classes))])
    classifier.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = classifier.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0, validation_data=(x_val, y_val))
    with open(out / "log.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy"])
        for i, (a, b, c) in enumerate(
            zip(history.history["loss"], history.history["val_loss"], history.history["val_accuracy"]), start=1
        ):
            writer.writerow([i, a, b, c])
    kernel, bias = classifier.layers[-1].get_weights()
    weights = out / "cam_classifier.npz"
    np.savez_compressed(weights, kernel=kernel, bias=bias, classes=np.array(classes))
    accuracy = float(history.history["val_accuracy"][-1])
    return TrainResult(epochs, time.perf_counter() - started, float("nan"), accuracy, weights)
