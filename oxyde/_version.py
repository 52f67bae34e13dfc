"""The package version, kept apart so the build reads it without importing oxyde."""

__version__ = "0.1.0"
