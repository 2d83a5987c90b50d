"""Workflows: each a short sequence of steps over a task (:mod:`speechtl.tasks`).

* :mod:`~speechtl.workflows.train`: the one training loop over a recipe's task;
* :mod:`~speechtl.workflows.evaluate`: a trained model on a split;
* :mod:`~speechtl.workflows.run`: a whole recipe: prepare, train, self-train, plot, evaluate;
* :mod:`~speechtl.workflows.pretrain`: self-supervised pre-training on unlabelled audio (speech: BEST-RQ);
* :mod:`~speechtl.workflows.self_train`: pseudo-label unlabelled target audio and train again, in rounds;
* :mod:`~speechtl.workflows.add_language`: a new language head, with the forgetting report;
* :mod:`~speechtl.workflows.sweep`: one recipe over values of a key and seeds, scored on dev;
* :mod:`~speechtl.workflows.study`: a study file's arms x seeds x rotations, chosen on dev, summarised;
* :mod:`~speechtl.workflows.plot`: t-SNE maps of backbone features.
"""
