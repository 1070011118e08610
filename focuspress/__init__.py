"""focuspress: photos compressed where nobody looks. Faces: ``focuspress.cli``."""

__version__ = "0.1.0"
