"""Decoding: greedy CTC, lexicon beam search, alignment, error rates."""
