"""focuspress: photos compressed where nobody looks. Faces: ``focuspress.cli``."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("focuspress")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
