"""spendwatch: live GPU and model-API price tracking and billing audit."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spendwatch")
except PackageNotFoundError:  # running from a checkout without install
    __version__ = "0.0.0+local"
