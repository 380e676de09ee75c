"""Project tools, each run as a module from the repository root (``python -m tools.<name>``): the
demo, the reproduction tables, the oracle association evaluation, and what the first two share
(``runs``). Tools call the packages (``engine.training_run``, ``pipeline.split``), never the
entry scripts."""
