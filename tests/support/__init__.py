"""Shared test helpers: builders of tiny local models and release folders (no downloads)."""
