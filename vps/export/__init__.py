"""Export of checkpoints (Pix2Seq-D at a reduced step count, Video K-Net) to ONNX graphs / TensorRT engines,
verified.

Modules: :mod:`.families` (what each model family exports), :mod:`.contracts` (one export contract per
Pix2Seq-D sub-network), :mod:`.knet_contract` (Video K-Net's ``knet_frame``), :mod:`.onnx_export`
(dynamo exporter), :mod:`.quantize` + :mod:`.calibrate` (int8 Q/DQ), :mod:`.trt_build` (TensorRT
engines), :mod:`.trt_lint` (``--check-trt``), :mod:`.verify` + :mod:`.parity` (PyTorch vs artifacts
through the shared host loop), :mod:`.artifacts` (manifest, atomic folder), :mod:`.pipeline` and
:mod:`.cli` (``vps-export``).
Needs the ``train`` and ``export`` extras (torch, onnx, onnxscript); the runtime does not import this.
"""
