"""Image side of the backbone contract: 8x8 handwritten digits, "digits-M", a small CNN.

Images prove that the transfer methods in :mod:`speechtl.transfer` are written
against the backbone contract, not against speech: the same modules adapt a
CNN from digits to colour-textured digits, fine-tune it with five images per
class and recognise digits never seen in training.
"""
