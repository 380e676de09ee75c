"""Tracking metrics: the official MvMHAT evaluation (MOTChallenge devkit per view plus the
cross-view MVIDP/MVIDR/MVIDF1/MVMA), DIVOTrack's CVIDF1/CVMA, HOTA (through TrackEval) and
MvMHAT++'s STMA; the official rules are specified in ``../shared/METRICS.md``, every metric is
summed up in ``docs/METRICS.md``. Entry point: ``eval.py``; library entry: ``metrics.evaluate.evaluate``."""
