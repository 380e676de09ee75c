"""Synthetic multi-view, multi-person scenes in the released MvMHAT layout: the built-in dataset.

    python -m datasets.synthetic --out data/synthetic --scenes 4 --views 4 --frames 300 \\
        --people 6-10 --size 640x360 --seed 0 [--camera-motion 1] [--video]

writes, for scenes ``1..S`` and views ``1..V``::

    DIR/dataset.yaml                          scenes and train/test frame ranges (first 70% train)
    DIR/synthetic.json                        the generator's settings (``ensure_dataset`` reads it)
    DIR/<scene>/calibration.json              K, R, t and image size of every camera (metres);
                                              moving cameras add "frames": [{R, t} per frame]
    DIR/<scene>/preview.png                   one frame of every view with GT boxes and ids
    DIR/<scene>/<view>/images/<n>.jpg         frames 0..F-1 (with --video: video.mp4, mp4v, frame n = n-th)
    DIR/<scene>/<view>/gt_det/gt.txt          frame,id,x,y,w,h,1,1,visibility,-1 (ids global per scene)
    DIR/<scene>/<view>/gt_det/det.txt         frame,-1,x,y,w,h,score,-1,-1,-1 (simulated detector)

``--camera-motion 1`` makes every camera hand-held (panning, jitter, drift, quick head turns), as
in the real MvMHAT videos; 0 (the default) keeps them static.

Modules: ``generate`` (:func:`~datasets.synthetic.generate.generate_dataset`,
:func:`~datasets.synthetic.generate.ensure_dataset` and the command line, run by
``__main__``), ``scene`` (one scene: world, cameras, style; one view to disk), ``world``
(walkers and props), ``looks`` (clothes, props), ``figure`` (3D figures), ``camera`` (cameras,
``calibration.json``), ``motion`` (hand-held camera paths), ``background`` (ground, facades),
``moving_background`` (a moving camera's background), ``render`` (drawing, boxes, visibility),
``detector`` (det.txt), ``preview`` (preview.png).
"""
