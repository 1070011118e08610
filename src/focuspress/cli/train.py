"""``focuspress train saliency`` and ``focuspress eval-map``: the models the engine ships."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from focuspress.cli.common import err, out, refuse, saliency_option
from focuspress.engine.saliency import DEFAULT_SALIENCY

train_app = typer.Typer(help="Train the models the engine ships (see training/).", no_args_is_help=True)


@train_app.command("saliency")
def train_saliency_command(
    data: Annotated[
        Path, typer.Option("--data", help="images/ + masks/ (e.g. ../shared/data/ecssd), or class folders.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder: checkpoints, log.csv, weights.")] = Path(
        "runs/saliency"
    ),
    minutes: Annotated[Optional[float], typer.Option("--minutes", help="Stop after this many minutes.")] = None,
    epochs: Annotated[
        int, typer.Option("--epochs", min=1, help="Epochs (the learning-rate schedule spans them).")
    ] = 12,
    views: Annotated[int, typer.Option("--views", min=1, help="Augmented views per training image.")] = 4,
    install: Annotated[bool, typer.Option("--install", help="Copy the weights into the engine when done.")] = False,
) -> None:
    """Train the saliency decoder (masks layout) or a CAM classifier (class folders).

    Resumes from OUTPUT/ckpt when present. Every fifth image (sorted by name) is validation.

    Example: focuspress train saliency --data ../shared/data/ecssd --minutes 10 --install
    """
    import shutil

    from focuspress.training.datasets import layout
    from focuspress.training.saliency import train_saliency

    try:
        layout(data)
    except ValueError as exc:
        refuse(str(exc))
    result = train_saliency(data, output, minutes=minutes, epochs=epochs, views=views, console=err)
    out.print(
        f"{result.epochs} epochs in {result.seconds:.0f} s · val MAE {result.val_mae:.3f} · "
        f"val max F {result.val_max_f:.3f} · weights {result.weights}",
        highlight=False,
    )
    if install:
        from focuspress.engine.saliency.efficientnet_lite import WEIGHTS_PATH

        target = WEIGHTS_PATH.parent / result.weights.name  # the engine's weights folder, wherever installed
        shutil.copy(result.weights, target)
        out.print(f"installed {target}", highlight=False)


def eval_map(
    data: Annotated[Path, typer.Option("--data", help="images/ + masks/ folder (e.g. ../shared/data/ecssd).")],
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
    split_name: Annotated[str, typer.Option("--split", help="val (never trained on), train or all.")] = "val",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1)] = None,
) -> None:
    """Judge an importance map against salient-object masks: MAE, max F-measure, AUC."""
    from rich.progress import Progress

    from focuspress.engine.saliency import load_saliency
    from focuspress.training.datasets import layout, mask_pairs, split
    from focuspress.training.eval_map import evaluate

    try:
        if layout(data) != "masks":
            raise ValueError(f"{data}: eval-map needs images/ and masks/")
    except ValueError as exc:
        refuse(str(exc))
    model = load_saliency(saliency)
    total = len(split(mask_pairs(data), split_name)[:limit])
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"judging {saliency}", total=total)
        scores = evaluate(model, data, split_name, limit, progress=lambda: progress.advance(task))
    out.print(
        f"{saliency} on {scores.images} {split_name} images: MAE {scores.mae:.3f} · max F {scores.max_f:.3f} · "
        f"AUC {scores.auc:.3f} · {scores.ms_per_image:.0f} ms/image",
        highlight=False,
    )
