"""Maintenance scripts; run each as ``python -m scripts.NAME`` from the repository root."""
