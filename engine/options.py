"""The one options schema: how a photo is compressed, typed and validated in one place.

The CLI builds its ``compress`` options and their help from these fields
(``focuspress.cli.schema``), the daemon's per-inbox ``compress:`` block *is* this model, the GUI
validates its form with it, and the Python API takes the same names as keyword arguments. A
bad value anywhere becomes one line naming the field and what it accepts, e.g.
``progressive: must be one of auto, always, never (got 'bogus')``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from focuspress.engine.compositor import COMPOSITOR_NAMES
from focuspress.engine.errors import OptionsError
from focuspress.engine.ratecontrol import parse_size

Progressive = Literal["auto", "always", "never"]
Subsampling = Literal["auto", "420", "444", "keep"]
#: The route asked for (the route an encode took is ``focuspress.engine.compositor.Route``).
RouteChoice = Literal["auto", "dct", "pixel"]
MetadataPolicy = Literal["keep", "strip", "no-location"]
#: The compositor registry's names (focuspress.engine.compositor), so a new compositor is a choice here too.
CompositorName = Literal[COMPOSITOR_NAMES]  # type: ignore[valid-type]


#: How the size of each photo is decided (see :attr:`CompressOptions.mode`).
Mode = Literal["contract", "quality", "size", "score"]
#: The fidelity contract's defaults: the subject visually lossless, the whole photo high quality.
DEFAULT_SUBJECT_SSIMULACRA2 = 90.0
DEFAULT_PHOTO_SSIMULACRA2 = 80.0
#: The map's strength where none is asked (``roi_strength`` None; the contract does not use it: it
#: keeps the subject with its own background knob). On pixel sources 0.5 keeps the whole photo
#: ahead of libjpeg-turbo while the subject gains. A JPEG source is already a camera's or a
#: program's lossy choice, and moving its bits costs the whole photo more: on camera-native's
#: crops (SSIMULACRA2 60..90 BD-rate against libjpeg-turbo) 0.5 scored -18.7% against 0 at
#: -25.9%, 0.3 -22.9%, 0.2 -24.6%, 0.1 -25.5% (training split: -24.3%, validation -26.7%).
DEFAULT_ROI_STRENGTH = 0.5
JPEG_ROI_STRENGTH = 0.1


class CompressOptions(BaseModel):
    """What the user asks for. By default the fidelity contract decides each photo's size: the
    smallest file whose subject scores ``subject_ssimulacra2`` and whose whole photo scores
    ``photo_ssimulacra2`` against the source. ``quality`` is a fixed knob instead; ``target_size``
    or ``target_ssimulacra2`` (at most one) aim the whole photo at a size or a score."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    quality: float | None = Field(
        None,
        ge=1,
        le=100,
        description="A fixed quality 1..100, as in libjpeg (higher is better and bigger), instead of the contract.",
    )
    subject_ssimulacra2: float = Field(
        DEFAULT_SUBJECT_SSIMULACRA2,
        gt=0,
        le=100,
        description="The contract: the subject (where the map is confident) scores at least this against the "
        "source; 90 is visually lossless at 1:1.",
    )
    photo_ssimulacra2: float = Field(
        DEFAULT_PHOTO_SSIMULACRA2,
        gt=0,
        le=100,
        description="The contract: the whole photo scores at least this against the source; 80 is high quality.",
    )
    target_size: int | None = Field(
        None, gt=0, description="Aim for a file size, e.g. 150KB or 1.2MB (met within 3% under)."
    )
    target_ssimulacra2: float | None = Field(
        None, gt=0, le=100, description="Aim for a perceived quality: 90 excellent, 70 good, 50 fair."
    )
    roi_strength: float | None = Field(
        None,
        ge=0,
        le=1,
        description=(
            "With a fixed quality, size or score: how strongly the importance map moves bits to what matters "
            "(0 = perceptual masking only, 0.85 = the subject first). Default: 0.5 on pixel sources, 0.1 on a "
            "JPEG (a camera file's whole photo first; the contract keeps its subject by its own knob)."
        ),
    )
    compositor: CompositorName = Field(
        "block", description="block (steered inside the encoder) or pixel (the 2019 method)."
    )
    subsampling: Subsampling = Field(
        "auto",
        description="Chroma subsampling: auto (a camera JPEG's 4:2:2 or 4:4:4 becomes 4:2:0 where that is "
        "smaller at the same quality; other sources 4:4:4), 420, 444 (sharper colour) or keep (a JPEG's own).",
    )
    progressive: Progressive = Field(
        "auto",
        description="Progressive JPEG: auto (up to 64 MP, the smaller of baseline and progressive; "
        "larger photos baseline: one encode), always, never.",
    )

    route: RouteChoice = Field(
        "auto",
        description=(
            "How a JPEG input is recompressed: dct (its own coefficients requantized: no generation loss, "
            "faster), pixel (decoded and encoded again), auto (dct wherever the pixels need not change)."
        ),
    )
    metadata: MetadataPolicy = Field(
        "keep",
        description=(
            "keep (EXIF, XMP, IPTC, ICC carried over), no-location (the same without GPS and place names) "
            "or strip (only the ICC colour profile)."
        ),
    )
    min_saving: float = Field(
        0.05,
        ge=0,
        lt=1,
        description=(
            "A JPEG input must shrink by at least this fraction (0.05 = 5%); else the output is the input "
            "made smaller losslessly, or the input itself: never larger."
        ),
    )

    @field_validator("target_size", mode="before")
    @classmethod
    def _parse_size(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_size(value)
            except OptionsError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_target(self) -> CompressOptions:
        given = [name for name in ("quality", "target_size", "target_ssimulacra2") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of quality, target_size, target_ssimulacra2 (got {', '.join(given)})")
        # the contract's targets with another mode would be silently ignored (-q 50 --subject-ssimulacra2
        # 95 wrote a q50 file): said instead, like two targets at once
        fields = type(self).model_fields
        moved = [
            name for name in ("subject_ssimulacra2", "photo_ssimulacra2") if getattr(self, name) != fields[name].default
        ]
        if given and moved:
            raise ValueError(
                f"{given[0]} replaces the contract ({' and '.join(moved)} would be ignored): give one or the other"
            )
        return self

    @property
    def mode(self) -> Mode:
        """``quality`` (a fixed knob), ``size`` or ``score`` (a whole-photo target), else ``contract``."""
        if self.quality is not None:
            return "quality"
        if self.target_size is not None:
            return "size"
        if self.target_ssimulacra2 is not None:
            return "score"
        return "contract"

    @classmethod
    def parse(cls, **values: Any) -> CompressOptions:
        """Validate ``values`` (None means "the default"); raise :class:`OptionsError` in one line."""
        given = {key: value for key, value in values.items() if value is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise OptionsError(describe_errors(exc, cls)) from None

    def roi_for(self, jpeg_source: bool) -> float:
        """The map's strength for a source: the one asked, else the default for its kind."""
        if self.roi_strength is not None:
            return self.roi_strength
        return JPEG_ROI_STRENGTH if jpeg_source else DEFAULT_ROI_STRENGTH

    def replace(self, **changes: Any) -> CompressOptions:
        """A validated copy with ``changes`` applied."""
        return type(self).parse(**{**self.model_dump(), **changes})


def choices(field: str, model: type[BaseModel] = CompressOptions) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` field (empty for free-form fields)."""
    annotation = model.model_fields[field].annotation
    return tuple(str(value) for value in get_args(annotation)) if get_origin(annotation) is Literal else ()


def describe_errors(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Pydantic's errors as one line: ``field: what it accepts (got value)``, joined by ``; ``.

    ``model`` (the validated class) lets nested locations such as ``inboxes.0.compress.quality``
    name their field's range and, for an unknown key, the keys that are known there.
    """
    parts = []
    for error in exc.errors():
        loc = error["loc"]
        where = ".".join(str(part) for part in loc)
        kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
        owner = _owner(model, loc) if model is not None else None
        if kind == "extra_forbidden":
            known = ", ".join(owner.model_fields) if owner is not None else ""
            message = "unknown key" + (f" (known: {known})" if known else "")
        elif kind == "literal_error":
            allowed = ", ".join(a.strip("'") for a in str(ctx.get("expected", "")).replace(" or ", ", ").split(", "))
            message = f"must be one of {allowed} (got {given!r})"
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            field = owner.model_fields.get(str(loc[-1])) if owner is not None and loc else None
            message = f"{_range(field) if field else error['msg']} (got {given!r})"
        elif kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
            message = f"must be a number (got {given!r})"
        elif kind == "value_error":
            message = str(ctx.get("error", error["msg"]))
        else:
            message = error["msg"]
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _owner(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (walking nested models and lists)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = _model_in(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_in(annotation: Any) -> Any:
    """``X`` from ``X``, ``list[X]`` or ``X | None`` when ``X`` is a model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _range(field) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for rule in field.metadata:
        for name in ("ge", "gt"):
            if getattr(rule, name, None) is not None:
                lo, lo_open = getattr(rule, name), name == "gt"
        for name in ("le", "lt"):
            if getattr(rule, name, None) is not None:
                hi, hi_open = getattr(rule, name), name == "lt"
    if lo is not None and hi is not None:
        return f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"must be {'>' if lo_open else '>='} {lo:g}"
    return f"must be {'<' if hi_open else '<='} {hi:g}"
