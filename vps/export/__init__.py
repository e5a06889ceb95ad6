"""Export of Pix2Seq-D checkpoints to ONNX graphs / TensorRT engines at a reduced step count, verified.

Modules: :mod:`.contracts` (one export contract per sub-network), :mod:`.onnx_export` (dynamo exporter),
:mod:`.quantize` + :mod:`.calibrate` (int8 Q/DQ), :mod:`.trt_build` (TensorRT engines), :mod:`.trt_lint`
(``--check-trt``), :mod:`.verify` + :mod:`.parity` (PyTorch vs artifacts through the shared host loop),
:mod:`.artifacts` (manifest, atomic folder), :mod:`.pipeline` and :mod:`.cli` (``vps-export``).
Needs the ``train`` and ``export`` extras (torch, onnx, onnxscript); the runtime does not import this.
"""
