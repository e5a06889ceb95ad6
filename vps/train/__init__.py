"""Training, checkpoints and offline prediction for Pix2Seq-D (``vps-train``, ``vps-predict``).

Modules: ``video_batch`` (clip -> training sample, the paper's video recipe), ``data`` (datasets from the
config, deterministic resumable distributed batch sampler), ``schedule`` (warm-up + cosine LR), ``ema``,
``checkpoint`` (atomic, resumable, slim export, ``load_for_inference``), ``dist`` (torchrun/DDP glue),
``trainer`` (the loop), ``cli``, ``predict`` and ``report`` (STQ vs sampling steps).
"""
