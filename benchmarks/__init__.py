"""Timings, probes and the comparisons not yet run as studies; run each as ``python -m benchmarks.NAME`` from the repository root."""
