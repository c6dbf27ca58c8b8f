"""Price fetchers and parsers: bytes from a provider in, normalised PriceRecords out.  Free of Dagster."""

__version__ = "0.1.0"
