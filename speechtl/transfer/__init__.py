"""Transfer methods written once against the backbone contract.

One module per method (:mod:`~speechtl.transfer.conservative`,
:mod:`~speechtl.transfer.layer_transfer`, :mod:`~speechtl.transfer.multitask`,
:mod:`~speechtl.transfer.dann`, :mod:`~speechtl.transfer.zeroshot`,
:mod:`~speechtl.transfer.conse`), reusable parts in their own files
(:mod:`~speechtl.transfer.grl`, :mod:`~speechtl.transfer.domain_classifier`), and
:mod:`~speechtl.transfer.registry` mapping recipe names to methods,
:mod:`~speechtl.transfer.setup` applying a recipe's transfer section before training and
:mod:`~speechtl.transfer.evaluation` rebuilding what evaluation needs of the trained methods.
Imports stay lazy here so that loading a recipe does not build models.
"""
