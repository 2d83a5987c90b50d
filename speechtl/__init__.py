"""speechtl: transfer learning for speech recognition.

Multilingual phoneme models (one shared encoder, one CTC head per language),
lexicon decoding of words never heard in training, and the transfer methods
(conservative training, layer transfer, multitask, DANN, zero-shot) behind one
backbone interface.
"""

__version__ = "0.1.0"
