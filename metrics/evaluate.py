"""Evaluate a set of scenes: per-view, per-scene and overall metrics, and their JSON form.

Four metric families, each computed only when asked for (:data:`FAMILIES`):

* ``official``: the MvMHAT evaluation: MOTChallenge devkit metrics per view (:data:`PER_VIEW_METRICS`)
  and the official cross-view MVIDP/MVIDR/MVIDF1/MVMA per scene;
* ``cv``: DIVOTrack's CVIDF1 and CVMA per scene;
* ``hota``: HOTA and its sub-metrics per view (:data:`HOTA_METRICS`, TrackEval) and on DIVOTrack's
  concatenated layout per scene (:data:`CV_HOTA_METRICS`, a person must keep one id across views);
* ``stma``: MvMHAT++'s STMA per scene for windows of 5, 10 and 30 frames.

Pooling follows one rule: integer counts are summed (views -> scene -> overall) and every ratio
is computed once from the pooled counts (for HOTA: TrackEval's ``combine_sequences``). The
exceptions are the published ones: overall MVIDP and MVIDR are unweighted means of the scene
values (``metrics.crossview.crossview_overall``), and so is overall STMA.

Metric names (the keys of the JSON's ``overall``, ``per_scene`` and ``per_view`` objects; ratios
as fractions, counts as ints, undefined values as ``null``): see :data:`FAMILY_METRICS`.
``per_view`` holds the over-time metrics only (devkit and HOTA), the cross-view ones being defined
per scene.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from errors import UnknownNameError
from metrics.clear_mot import ClearCounts, clear_mot
from metrics.crossview import (CrossViewCounts, CrossViewFrames, concatenated, crossview_overall,
                               crossview_scene, interleaved)
from metrics.families import FAMILIES
from metrics.identity import IdCounts, id_measures
from metrics.inputs import SceneData
from metrics.sequence import devkit_sequence, duplicated_pairs
from metrics.stma import IOU_THRESHOLD as STMA_IOU, NAMES as STMA_METRICS, WINDOWS as STMA_WINDOWS
from metrics.stma import stma_overall, stma_scene

PER_VIEW_METRICS = ("MOTA", "IDF1", "IDP", "IDR", "MOTP", "FP", "FN", "IDs", "MT", "ML")
OFFICIAL_CROSS_VIEW = ("MVIDP", "MVIDR", "MVIDF1", "MVMA")
DIVOTRACK_METRICS = ("CVIDF1", "CVMA")
CROSS_VIEW_METRICS = OFFICIAL_CROSS_VIEW + DIVOTRACK_METRICS
METRICS = PER_VIEW_METRICS + CROSS_VIEW_METRICS  # the official and DIVOTrack names
HOTA_METRICS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")
CV_HOTA_METRICS = tuple(f"CV{k}" for k in HOTA_METRICS)
COUNT_METRICS = frozenset({"FP", "FN", "IDs", "MT", "ML"})

# family -> (per-view names, per-scene and overall names)
FAMILY_METRICS = {
    "official": (PER_VIEW_METRICS, PER_VIEW_METRICS + OFFICIAL_CROSS_VIEW),
    "cv": ((), DIVOTRACK_METRICS),
    "hota": (HOTA_METRICS, HOTA_METRICS + CV_HOTA_METRICS),
    "stma": ((), STMA_METRICS),
}
DEFAULT_FAMILIES = ("official", "cv")  # the library's default: what the tools need, fast


def parse_families(spec) -> tuple:
    """``"official,hota"`` (or a list of names) -> the families in :data:`FAMILIES` order; an
    unknown or empty list is an error naming the valid ones."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [str(n) for n in spec]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise UnknownNameError(f"unknown metric famil{'ies' if len(unknown) > 1 else 'y'} {unknown or names}; "
                               f"valid: {','.join(FAMILIES)} (comma-separated)")
    return tuple(f for f in FAMILIES if f in names)


def metric_names(families: Sequence[str], per_view: bool = False) -> tuple:
    """The metric names the families give, in :data:`FAMILIES` order (per view or per scene)."""
    return tuple(k for f in FAMILIES if f in families for k in FAMILY_METRICS[f][0 if per_view else 1])


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
    clear: Optional[ClearCounts] = None  # official
    ident: Optional[IdCounts] = None  # official
    hota: Optional["HotaResult"] = None  # hota


@dataclass
class SceneResult:
    views: list  # view keys
    crossview: Optional[CrossViewCounts] = None  # official
    frames: Optional[CrossViewFrames] = None  # official: per-frame cross-view internals
    cv_ident: Optional[IdCounts] = None  # cv: CVIDF1, IDF1 on the concatenated views
    cv_clear: Optional[ClearCounts] = None  # cv: CVMA, MOTA on the interleaved views
    cv_hota: Optional["HotaResult"] = None  # hota: HOTA on the concatenated views
    stma: Optional[dict] = None  # stma: {"STMA5": value, ...}


def _combine_hota(results: list):
    from metrics.hota import HotaResult  # TrackEval, imported on use

    return HotaResult.combine(results)


@dataclass
class EvalReport:
    backend: str
    families: tuple = DEFAULT_FAMILIES
    views: dict = field(default_factory=dict)  # key -> ViewResult
    scenes: dict = field(default_factory=dict)  # name -> SceneResult
    ranges: dict = field(default_factory=dict)  # name -> (start, end) inclusive
    notes: list = field(default_factory=list)

    def scene_counts(self, name: str) -> tuple[ClearCounts, IdCounts]:
        keys = self.scenes[name].views
        return (ClearCounts.total(self.views[k].clear for k in keys),
                IdCounts.total(self.views[k].ident for k in keys))

    def columns(self, per_view: bool = False) -> tuple:
        """The metric names this report holds, per scene/overall or per view."""
        return metric_names(self.families, per_view)

    def view_metrics(self, key: str) -> dict:
        v = self.views[key]
        out = {}
        if "official" in self.families:
            out.update(mot_metrics(v.clear, v.ident))
        if "hota" in self.families:
            out.update(v.hota.summary())
        return out

    def _pooled_hota(self, views: list, scenes: list) -> tuple:
        """HOTA pooled over ``views`` and over the concatenated layouts of ``scenes`` (TrackEval's
        ``combine_sequences``); :meth:`to_json` pools each group once for its metrics and details."""
        return _combine_hota([v.hota for v in views]), _combine_hota([s.cv_hota for s in scenes])

    def scene_metrics(self, name: str, hota: Optional[tuple] = None) -> dict:
        """The metrics of one scene; ``hota``: its :meth:`_pooled_hota` if already computed."""
        s = self.scenes[name]
        out = {}
        if "official" in self.families:
            out.update(mot_metrics(*self.scene_counts(name)))
            out.update(s.crossview.ratios())
        if "cv" in self.families:
            out.update(CVIDF1=s.cv_ident.ratios()["IDF1"], CVMA=s.cv_clear.ratios()["MOTA"])
        if "hota" in self.families:
            out.update(_hota_metrics(hota or self._pooled_hota([self.views[k] for k in s.views], [s])))
        if "stma" in self.families:
            out.update(s.stma)
        return {k: out[k] for k in self.columns()}

    def overall_metrics(self, hota: Optional[tuple] = None) -> dict:
        """The overall metrics; ``hota``: the :meth:`_pooled_hota` of every view and scene if already computed."""
        scenes, views = list(self.scenes.values()), list(self.views.values())
        out = {}
        if "official" in self.families:
            out.update(mot_metrics(ClearCounts.total(v.clear for v in views), IdCounts.total(v.ident for v in views)))
            out.update(crossview_overall([s.crossview for s in scenes]))
        if "cv" in self.families:
            out.update(CVIDF1=IdCounts.total(s.cv_ident for s in scenes).ratios()["IDF1"],
                       CVMA=ClearCounts.total(s.cv_clear for s in scenes).ratios()["MOTA"])
        if "hota" in self.families:
            out.update(_hota_metrics(hota or self._pooled_hota(views, scenes)))
        if "stma" in self.families:
            out.update(stma_overall([s.stma for s in scenes]))
        return {k: out[k] for k in self.columns()}

    def to_json(self) -> dict:
        """The JSON document (NaN written as null)."""
        views, scenes = list(self.views.values()), list(self.scenes.values())
        groups = {n: ([self.views[k] for k in s.views], [s]) for n, s in self.scenes.items()}
        pooled = "hota" in self.families  # pool HOTA once per group, for its metrics and its details
        overall_hota = self._pooled_hota(views, scenes) if pooled else None
        scene_hota = {n: self._pooled_hota(*g) if pooled else None for n, g in groups.items()}
        details = {
            "overall": self._details(views, scenes, overall_hota),
            "per_scene": {n: self._details(*g, scene_hota[n]) for n, g in groups.items()},
            "per_view": {k: self._details([v]) for k, v in self.views.items()},
        }
        if "official" in self.families:  # the official overall MVIDP/MVIDR are scene means, not frame-pooled ones
            details["overall"]["crossview"].update(crossview_overall([s.crossview for s in scenes]))
        doc = {
            "backend": self.backend,
            "metrics": list(self.families),
            "overall": self.overall_metrics(overall_hota),
            "per_scene": {n: self.scene_metrics(n, scene_hota[n]) for n in self.scenes},
            "per_view": {k: self.view_metrics(k) for k in self.views},
            "details": details,
            "scenes": {n: {"start": a, "end": b, "views": self.scenes[n].views} for n, (a, b) in self.ranges.items()},
            "notes": list(self.notes),
        }
        return _json_safe(doc)

    def _details(self, views: list, scenes: Optional[list] = None, hota: Optional[tuple] = None) -> dict:
        """Every count and derived ratio of some views and the scenes holding them (``None`` for a
        view alone: no cross-view counts), grouped by metric family (the JSON's ``details``);
        ``hota``: their :meth:`_pooled_hota` if already computed."""
        with_scenes = scenes is not None
        scenes = scenes or []
        out = {}
        if "official" in self.families:
            clear, ident = ClearCounts.total(v.clear for v in views), IdCounts.total(v.ident for v in views)
            out["clear"] = {**clear.as_dict(), **clear.ratios()}
            out["identity"] = {**ident.as_dict(), **ident.ratios()}
            if with_scenes:
                crossview = CrossViewCounts.total(s.crossview for s in scenes)
                out["crossview"] = {**crossview.as_dict(), **crossview.ratios()}
        if "cv" in self.families and with_scenes:
            cv_ident, cv_clear = IdCounts.total(s.cv_ident for s in scenes), ClearCounts.total(s.cv_clear for s in scenes)
            out["cv_concatenated"] = {**cv_ident.as_dict(), **cv_ident.ratios()}
            out["cv_interleaved"] = {**cv_clear.as_dict(), **cv_clear.ratios()}
        if "hota" in self.families:
            per_view, cv = hota or self._pooled_hota(views, scenes)
            out["hota"] = per_view.details()
            if with_scenes:
                out["cv_hota"] = cv.details()
        return out


def _hota_metrics(pooled: tuple) -> dict:
    """HOTA's metric names and values from :meth:`EvalReport._pooled_hota`: the views', then ``CV``
    and the concatenated layouts'."""
    per_view, cv = pooled
    return {**per_view.summary(), **{f"CV{k}": v for k, v in cv.summary().items()}}


def mot_metrics(clear: ClearCounts, ident: IdCounts) -> dict:
    """The over-time metrics of :data:`PER_VIEW_METRICS` from pooled counts."""
    c, i = clear.ratios(), ident.ratios()
    return {"MOTA": c["MOTA"], "IDF1": i["IDF1"], "IDP": i["IDP"], "IDR": i["IDR"], "MOTP": c["MOTP"],
            "FP": clear.fp, "FN": clear.fn, "IDs": clear.ids, "MT": clear.mt, "ML": clear.ml}


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
                         f"id {i} x{n}; CLEAR MOT and HOTA keep the last copy, IDF1 and MT/PT/ML count every copy")
    return notes


def evaluate_scene(scene: SceneData, backend: Backend, families: Sequence[str] = DEFAULT_FAMILIES,
                   stma_iou: float = STMA_IOU) -> tuple[SceneResult, dict, list]:
    """The asked-for metric families of one scene: ``(scene result, {view key: ViewResult}, notes)``."""
    views, notes, seqs = {}, [], []
    for v in scene.views:
        seq = devkit_sequence(v.gt, v.res, scene.start, scene.end)
        notes += _duplicate_notes(v.key, seq.gt, seq.res)
        views[v.key] = ViewResult(*backend.both(seq.gt, seq.res)) if "official" in families else ViewResult()
        seqs.append(seq)
    result = SceneResult(list(views))
    gt_views, res_views = [v.gt for v in scene.views], [v.res for v in scene.views]
    if "official" in families:
        result.crossview, result.frames = crossview_scene(gt_views, res_views, scene.start, scene.end)
    last = [int(max(s.gt[:, 0].max(initial=0), s.res[:, 0].max(initial=0))) for s in seqs]
    if "cv" in families or "hota" in families:  # DIVOTrack's layout: the views one after another
        cat_gt, cat_res = concatenated([s.gt for s in seqs], last), concatenated([s.res for s in seqs], last)
    if "cv" in families:
        result.cv_ident = backend.identity(cat_gt, cat_res)
        result.cv_clear = backend.clear(interleaved([s.gt for s in seqs]), interleaved([s.res for s in seqs]))
    if "hota" in families:
        from metrics.hota import hota_sequence  # TrackEval, imported on use

        for key, seq in zip(views, seqs):
            views[key].hota = hota_sequence(seq.gt, seq.res)
        result.cv_hota = hota_sequence(cat_gt, cat_res)
    if "stma" in families:
        result.stma = stma_scene(gt_views, res_views, scene.start, scene.end, stma_iou, STMA_WINDOWS)
    return result, views, notes


def evaluate(scenes: Sequence[SceneData], backend: str = "official", notes: Sequence[str] = (),
             metrics: Sequence[str] = DEFAULT_FAMILIES, stma_iou: float = STMA_IOU,
             progress: bool = False) -> EvalReport:
    """Evaluate loaded scenes (``metrics.inputs.load_scenes``): the metric families ``metrics``
    (names of :data:`FAMILIES`), the over-time ones with the named backend; ``stma_iou``: the IoU
    an STMA match must exceed (MvMHAT++: 0.5); ``progress``: a progress bar over the scenes."""
    families = parse_families(metrics)
    impl = get_backend(backend)
    report = EvalReport(backend=impl.name, families=families, notes=list(notes))
    if progress:
        from tqdm import tqdm

        scenes = tqdm(scenes, desc="scenes", unit="scene", leave=False, disable=None)  # None: only on a terminal
    for scene in scenes:
        result, views, scene_notes = evaluate_scene(scene, impl, families, stma_iou)
        report.scenes[scene.name] = result
        report.views.update(views)
        report.ranges[scene.name] = (scene.start, scene.end)
        report.notes += scene_notes
    return report
