"""Stance toward Ukraine's NATO membership: segmentation, classification and tracking."""

from importlib.metadata import PackageNotFoundError, version

from stance.labels import ACTORS, LABELS

__all__ = ["ACTORS", "LABELS", "__version__"]
try:
    # pyproject.toml holds the one version number; this reads the installed package's.
    __version__ = version("stance")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
