"""From what a user names (files and folders) to what gets written where, before any work starts.

Rules (the same for every face that writes files by name):

* a folder stands for its photos: supported suffixes, not hidden, regular files, sorted;
  with ``recursive`` its subfolders too (not hidden ones, not through symlinks), the tree
  mirrored under the output; without it, subfolders are skipped with a note saying how many
  photos they hold; anything else that looks like a photo is skipped with a note;
* each photo goes to ``<output>/<relative folder>/<stem>.jpg``; two inputs with one stem get
  ``stem.jpg`` and ``stem-1.jpg`` (the daemon's rule, :func:`~focuspress.engine.io.names.unique_path`);
* an existing file is never replaced silently: without ``overwrite`` the next free
  ``stem-N.jpg`` is used; an *input* is never replaced at all (that input is refused);
* a problem with one input (missing, unreadable, a folder with no photos) refuses that input
  with a one-line reason; the others are still planned;
* ``skip_existing`` (resuming an interrupted run): each photo's output name is worked out as the
  first run worked it out (files already in the output folder do not push it to ``stem-1.jpg``),
  and a photo whose output is there, complete (a JPEG that parses to its end marker: outputs are
  written atomically, so a killed run leaves none half-written, but another program may) and no
  older than the photo is skipped; any other output there is kept and the photo is done again
  beside it (or over it with ``overwrite``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from focuspress.engine.io.load import SUPPORTED_SUFFIXES
from focuspress.engine.io.names import display_name, unique_path


@dataclass(frozen=True)
class PlannedFile:
    """One input: where its output goes (``target``), or why it is refused (``error``).

    ``relative``: the folder under the output it goes to (a recursive folder input's tree)."""

    source: Path
    target: Path | None = None
    error: str | None = None
    relative: Path = Path()
    #: the output is already there, complete and newer than the source (``skip_existing``)
    done: Path | None = None


@dataclass
class Plan:
    files: list[PlannedFile]
    notes: list[str]

    @property
    def runnable(self) -> list[PlannedFile]:
        return [item for item in self.files if item.target is not None]

    @property
    def skipped(self) -> list[PlannedFile]:
        return [item for item in self.files if item.done is not None]

    @property
    def refused(self) -> list[PlannedFile]:
        return [item for item in self.files if item.error is not None]


def photos_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """(photos, skipped): a folder's photos by suffix, and same-suffix names that are not regular files."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return [], []
    photos: list[Path] = []
    skipped: list[Path] = []
    for entry in entries:
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        try:
            regular = entry.is_file(follow_symlinks=False)
        except OSError:
            regular = False
        (photos if regular else skipped).append(Path(entry.path))
    return photos, skipped


def subfolders(folder: Path) -> list[Path]:
    """A folder's visible subfolders (not followed through symlinks), sorted."""
    try:
        return sorted(
            Path(entry.path)
            for entry in os.scandir(folder)
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return []


def photos_below(folder: Path) -> tuple[list[Path], list[Path]]:
    """(photos, skipped) of ``folder`` and every visible subfolder (no symlinked folders: no loops)."""
    photos, skipped = photos_in(folder)
    for sub in subfolders(folder):
        more, odd = photos_below(sub)
        photos += more
        skipped += odd
    return photos, skipped


def _readable_problem(path: Path) -> str | None:
    """A one-line reason ``path`` cannot be read as an input, checked without reading it."""
    name = display_name(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{name}: no such file"
    except OSError as exc:
        return f"{name}: cannot read ({exc.strerror or type(exc).__name__})"
    if not os.path.isfile(path):
        return f"{name}: not a regular file"
    if st.st_size == 0:
        return f"{name}: empty file"
    if not os.access(path, os.R_OK):
        return f"{name}: permission denied"
    return None


def is_done(output: Path, source: Path) -> bool:
    """Whether ``output`` is a complete JPEG no older than ``source`` (see the module's docstring)."""
    from focuspress.engine.io.multipicture import primary_end

    try:
        if output.is_symlink() or not output.is_file() or output.stat().st_mtime_ns < source.stat().st_mtime_ns:
            return False
        return primary_end(output.read_bytes()) is not None
    except OSError:
        return False


def plan_outputs(
    inputs: list[Path],
    output: Path,
    *,
    overwrite: bool = False,
    recursive: bool = False,
    skip_existing: bool = False,
) -> Plan:
    """Expand folders and give every photo an output path (or a refusal); nothing is read or written."""
    notes: list[str] = []
    sources: list[PlannedFile] = []
    for path in inputs:
        if path.is_dir():
            photos, skipped = photos_below(path) if recursive else photos_in(path)
            notes += [f"{display_name(p)}: skipped (not a regular file)" for p in skipped]
            if not recursive:
                nested = [(sub, len(photos_below(sub)[0])) for sub in subfolders(path)]
                held = sum(count for _, count in nested)
                if held:
                    notes.append(
                        f"{display_name(path)}: {held} photo(s) in {sum(1 for _, c in nested if c)} subfolder(s) "
                        "skipped (add --recursive to do them, the tree mirrored under the output)"
                    )
            if not photos:
                suffixes = ", ".join(SUPPORTED_SUFFIXES)
                sources.append(PlannedFile(path, error=f"{display_name(path)}: folder has no photos ({suffixes})"))
            sources += [PlannedFile(p, relative=p.parent.relative_to(path)) for p in photos]
        else:
            problem = _readable_problem(path)
            sources.append(PlannedFile(path, error=problem) if problem else PlannedFile(path))
    input_paths = {os.path.realpath(item.source) for item in sources}
    claimed: set[str] = set()

    def taken(candidate: Path) -> bool:
        real = os.path.realpath(candidate)
        if real in claimed:
            return True
        return not overwrite and (candidate.exists() or candidate.is_symlink())

    planned = []
    for item in sources:
        if item.error is not None:
            planned.append(item)
            continue
        preferred = output / item.relative / f"{item.source.stem}.jpg"
        if os.path.realpath(preferred) in input_paths:
            message = (
                f"{display_name(item.source)}: refusing to overwrite the input {display_name(preferred)} "
                "(choose another --output folder)"
            )
            planned.append(PlannedFile(item.source, error=message))
            continue
        if skip_existing:
            # the name the first run gave this photo: only this run's own claims push it on
            first = unique_path(
                preferred, lambda c: os.path.realpath(c) in claimed or os.path.realpath(c) in input_paths
            )
            if is_done(first, item.source):
                claimed.add(os.path.realpath(first))
                planned.append(PlannedFile(item.source, relative=item.relative, done=first))
                continue
        target = unique_path(preferred, taken)
        if os.path.realpath(target) in input_paths:  # stem-1.jpg may itself be an input
            target = unique_path(preferred, lambda c: taken(c) or os.path.realpath(c) in input_paths)
        claimed.add(os.path.realpath(target))
        planned.append(PlannedFile(item.source, target=target, relative=item.relative))
    return Plan(planned, notes)
