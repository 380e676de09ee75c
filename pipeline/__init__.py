"""Per-scene inference: from a checkpoint and a dataset split to result files (and videos).

``split`` (:func:`~pipeline.split.track_split`, what ``inference.py`` and the tools run),
``extract`` (embedding every box of a scene, the feature cache), ``tracking`` (the tracker and
its association mode built from a ``TrackConfig``, MOT rows from a run over frames) and
``render`` (per-view and mosaic videos, PNG frames). The network comes from
:func:`engine.checkpoint.load_model`; the forward pass is :func:`engine.embed.embed_crops`,
shared with training.
"""
