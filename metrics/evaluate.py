"""Evaluate a set of scenes: per-view, per-scene and overall metrics, and their JSON form.

Pooling follows one rule: integer counts are summed (views -> scene -> overall) and every ratio
is computed once from the pooled counts. The only exception is the official one: overall MVIDP
and MVIDR are unweighted means of the scene values (``metrics.crossview.crossview_overall``).

Metric names (the keys of the JSON's ``overall``, ``per_scene`` and ``per_view`` objects; ratios
as fractions, counts as ints, undefined values as ``null``): see :data:`METRICS`. ``per_view``
holds the over-time metrics only, the cross-view ones being defined per scene.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from metrics.clear_mot import ClearCounts, clear_mot
from metrics.crossview import (CrossViewCounts, CrossViewFrames, concatenated, crossview_overall,
                               crossview_scene, interleaved)
from metrics.identity import IdCounts, id_measures
from metrics.inputs import SceneData
from metrics.sequence import devkit_sequence, duplicated_pairs

PER_VIEW_METRICS = ("MOTA", "IDF1", "IDP", "IDR", "MOTP", "FP", "FN", "IDs", "MT", "ML")
CROSS_VIEW_METRICS = ("MVIDP", "MVIDR", "MVIDF1", "MVMA", "CVIDF1", "CVMA")
METRICS = PER_VIEW_METRICS + CROSS_VIEW_METRICS
COUNT_METRICS = frozenset({"FP", "FN", "IDs", "MT", "ML"})


@dataclass(frozen=True)
class Backend:
    """How the over-time counts of one sequence are computed: ``fn(gt, res) -> counts``.

    ``both`` gives the CLEAR and identity counts of a view at once; ``clear`` and ``identity`` are
    used alone for DIVOTrack's CVMA and CVIDF1 layouts."""

    name: str
    clear: Callable[[np.ndarray, np.ndarray], ClearCounts]
    identity: Callable[[np.ndarray, np.ndarray], IdCounts]
    both: Callable[[np.ndarray, np.ndarray], tuple]


def _official() -> Backend:
    return Backend("official", clear_mot, id_measures, lambda g, r: (clear_mot(g, r), id_measures(g, r)))


def _motmetrics() -> Backend:
    from metrics.motmetrics_backend import motmetrics_counts  # optional dependency, imported on use

    return Backend("motmetrics", lambda g, r: motmetrics_counts(g, r)[0], lambda g, r: motmetrics_counts(g, r)[1],
                   motmetrics_counts)


BACKENDS = {"official": _official, "motmetrics": _motmetrics}


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]()
    except KeyError:
        raise KeyError(f"unknown backend {name!r}; valid: {sorted(BACKENDS)}") from None


@dataclass
class ViewResult:
    clear: ClearCounts
    ident: IdCounts


@dataclass
class SceneResult:
    views: list  # view keys
    crossview: CrossViewCounts
    frames: CrossViewFrames  # per-frame cross-view internals
    cv_ident: IdCounts  # CVIDF1: IDF1 on the concatenated views
    cv_clear: ClearCounts  # CVMA: MOTA on the interleaved views


@dataclass
class EvalReport:
    backend: str
    views: dict = field(default_factory=dict)  # key -> ViewResult
    scenes: dict = field(default_factory=dict)  # name -> SceneResult
    ranges: dict = field(default_factory=dict)  # name -> (start, end) inclusive
    notes: list = field(default_factory=list)

    def scene_counts(self, name: str) -> tuple[ClearCounts, IdCounts]:
        keys = self.scenes[name].views
        return (ClearCounts.total(self.views[k].clear for k in keys),
                IdCounts.total(self.views[k].ident for k in keys))

    def view_metrics(self, key: str) -> dict:
        v = self.views[key]
        return mot_metrics(v.clear, v.ident)

    def scene_metrics(self, name: str) -> dict:
        s = self.scenes[name]
        out = mot_metrics(*self.scene_counts(name))
        out.update(s.crossview.ratios())
        out.update(CVIDF1=s.cv_ident.ratios()["IDF1"], CVMA=s.cv_clear.ratios()["MOTA"])
        return out

    def overall_metrics(self) -> dict:
        scenes = list(self.scenes.values())
        out = mot_metrics(ClearCounts.total(v.clear for v in self.views.values()),
                          IdCounts.total(v.ident for v in self.views.values()))
        out.update(crossview_overall([s.crossview for s in scenes]))
        out.update(CVIDF1=IdCounts.total(s.cv_ident for s in scenes).ratios()["IDF1"],
                   CVMA=ClearCounts.total(s.cv_clear for s in scenes).ratios()["MOTA"])
        return out

    def to_json(self) -> dict:
        """The JSON document (NaN written as null)."""
        views, scenes = self.views.values(), self.scenes.values()
        details = {
            "overall": _details(ClearCounts.total(v.clear for v in views), IdCounts.total(v.ident for v in views),
                                CrossViewCounts.total(s.crossview for s in scenes),
                                IdCounts.total(s.cv_ident for s in scenes), ClearCounts.total(s.cv_clear for s in scenes)),
            "per_scene": {n: _details(*self.scene_counts(n), s.crossview, s.cv_ident, s.cv_clear)
                          for n, s in self.scenes.items()},
            "per_view": {k: _details(v.clear, v.ident) for k, v in self.views.items()},
        }
        # the official overall MVIDP/MVIDR are scene means, not frame-pooled ones
        details["overall"]["crossview"].update(crossview_overall([s.crossview for s in scenes]))
        doc = {
            "backend": self.backend,
            "overall": self.overall_metrics(),
            "per_scene": {n: self.scene_metrics(n) for n in self.scenes},
            "per_view": {k: self.view_metrics(k) for k in self.views},
            "details": details,
            "scenes": {n: {"start": a, "end": b, "views": self.scenes[n].views} for n, (a, b) in self.ranges.items()},
            "notes": list(self.notes),
        }
        return _json_safe(doc)


def mot_metrics(clear: ClearCounts, ident: IdCounts) -> dict:
    """The over-time metrics of :data:`PER_VIEW_METRICS` from pooled counts."""
    c, i = clear.ratios(), ident.ratios()
    return {"MOTA": c["MOTA"], "IDF1": i["IDF1"], "IDP": i["IDP"], "IDR": i["IDR"], "MOTP": c["MOTP"],
            "FP": clear.fp, "FN": clear.fn, "IDs": clear.ids, "MT": clear.mt, "ML": clear.ml}


def _details(clear: ClearCounts, ident: IdCounts, crossview: Optional[CrossViewCounts] = None,
             cv_ident: Optional[IdCounts] = None, cv_clear: Optional[ClearCounts] = None) -> dict:
    """Every count and derived ratio, grouped by metric family (the JSON's ``details``)."""
    out = {"clear": {**clear.as_dict(), **clear.ratios()}, "identity": {**ident.as_dict(), **ident.ratios()}}
    if crossview is not None:
        out["crossview"] = {**crossview.as_dict(), **crossview.ratios()}
        out["cv_concatenated"] = {**cv_ident.as_dict(), **cv_ident.ratios()}
        out["cv_interleaved"] = {**cv_clear.as_dict(), **cv_clear.ratios()}
    return out


def _json_safe(x):
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) or math.isinf(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _duplicate_notes(key: str, gt: np.ndarray, res: np.ndarray) -> list[str]:
    notes = []
    for what, rows in (("ground truth", gt), ("results", res)):
        dups = duplicated_pairs(rows)
        if dups:
            f, i, n = dups[0]
            notes.append(f"{key}: {what} has {len(dups)} duplicated (frame, id) pair(s), first frame {f} "
                         f"id {i} x{n}; CLEAR MOT keeps the last copy, IDF1 and MT/PT/ML count every copy")
    return notes


def evaluate_scene(scene: SceneData, backend: Backend) -> tuple[SceneResult, dict, list]:
    """All metrics of one scene: ``(scene result, {view key: ViewResult}, notes)``."""
    views, notes, seqs = {}, [], []
    for v in scene.views:
        seq = devkit_sequence(v.gt, v.res, scene.start, scene.end)
        notes += _duplicate_notes(v.key, seq.gt, seq.res)
        views[v.key] = ViewResult(*backend.both(seq.gt, seq.res))
        seqs.append(seq)
    crossview, frames = crossview_scene([v.gt for v in scene.views], [v.res for v in scene.views],
                                        scene.start, scene.end)
    last = [int(max(s.gt[:, 0].max(initial=0), s.res[:, 0].max(initial=0))) for s in seqs]
    cv_ident = backend.identity(concatenated([s.gt for s in seqs], last), concatenated([s.res for s in seqs], last))
    cv_clear = backend.clear(interleaved([s.gt for s in seqs]), interleaved([s.res for s in seqs]))
    return SceneResult(list(views), crossview, frames, cv_ident, cv_clear), views, notes


def evaluate(scenes: Sequence[SceneData], backend: str = "official", notes: Sequence[str] = ()) -> EvalReport:
    """Evaluate loaded scenes (``metrics.inputs.load_scenes``) with the named backend."""
    impl = get_backend(backend)
    report = EvalReport(backend=impl.name, notes=list(notes))
    for scene in scenes:
        result, views, scene_notes = evaluate_scene(scene, impl)
        report.scenes[scene.name] = result
        report.views.update(views)
        report.ranges[scene.name] = (scene.start, scene.end)
        report.notes += scene_notes
    return report
