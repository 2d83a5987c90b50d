"""The speech task: multilingual CTC phoneme recognition (data, model, objective, evaluation, adaptation steps)."""
