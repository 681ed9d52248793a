"""Stance toward Ukraine's NATO membership: segmentation, classification and tracking."""

from stance.labels import ACTORS, LABELS

__all__ = ["ACTORS", "LABELS", "__version__"]
__version__ = "0.1.0"
