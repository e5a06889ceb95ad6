"""Video K-Net (model family ``video_knet``): kernels segment, an update head refines, embeddings track.

Public entry point: :class:`VideoKNet` (``from_config(config, meta)``, ``forward`` = the exported
``knet_frame`` graph, ``training_loss``). Modules: :mod:`~vps.model.knet.neck` (semantic FPN),
:mod:`~vps.model.knet.layers` and :mod:`~vps.model.knet.head` (kernel update head),
:mod:`~vps.model.knet.matching` (Hungarian assignment), :mod:`~vps.model.knet.losses` and
:mod:`~vps.model.knet.criterion` (training losses).
"""

from vps.model.knet.model import VideoKNet

__all__ = ["VideoKNet"]
