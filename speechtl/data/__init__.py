"""Data: audio I/O, features, manifests, the synthetic corpus, corpus adapters."""
