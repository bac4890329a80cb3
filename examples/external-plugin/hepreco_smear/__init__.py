"""hepreco-smear: an example external plugin with one module, ``smear.Smear``."""

__version__ = "0.1.0"
