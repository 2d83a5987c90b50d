"""Plots (matplotlib and scikit-learn, the ``viz`` extra)."""
