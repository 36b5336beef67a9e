"""gaitbench: a benchmarking toolkit for silhouette-based gait recognition."""

__version__ = "0.1.0"
