"""Models: the backbone contract, encoders, per-language heads, the acoustic model."""
