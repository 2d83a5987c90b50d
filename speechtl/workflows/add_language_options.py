"""The add-language choices the command line names, apart from the workflow so that ``--help`` imports no torch."""

STRATEGIES = ("scratch", "finetune", "layer-transfer", "conservative")

# minutes of each base language's own training audio replayed beside the new data (transfer.replay;
# strategies that start from the base). L2-SP and KL on the new audio alone did not stop the old
# languages forgetting when the new audio is real and the base synthetic (docs/results/add-language.md,
# "Real recordings"): the encoder moved where nothing watched it.
REPLAY_MINUTES = 1.0
