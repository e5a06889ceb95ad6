"""Training, checkpoints, offline prediction (``vps-train``, ``vps-predict``): Pix2Seq-D and Video K-Net.

Modules: ``video_batch`` (clip -> training sample, the paper's video recipe), ``knet`` (Video K-Net's
frame-pair samples and loss module), ``data`` (datasets from the
config, deterministic resumable distributed batch sampler), ``schedule`` (warm-up + cosine LR), ``ema``,
``checkpoint`` (atomic, resumable, slim export, ``load_for_inference``), ``dist`` (torchrun/DDP glue),
``trainer`` (the loop), ``cli``, ``predict`` and ``report`` (STQ vs sampling steps).
"""
