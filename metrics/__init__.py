"""Tracking metrics: the official MvMHAT evaluation (MOTChallenge devkit per view plus the
cross-view MVIDP/MVIDR/MVIDF1/MVMA) and DIVOTrack's CVIDF1/CVMA, specified in
``../shared/METRICS.md``. Entry point: ``eval.py``; library entry: ``metrics.evaluate.evaluate``."""
