"""photosorter: learns your photo categories from a few examples and sorts your camera roll."""

__version__ = "0.1.0"
__all__ = ["__version__"]
