"""Files to deploy: ONNX and ExecuTorch export (fp32, int8), their lowering, runtimes, the edge formulation.

Imports seg.model, seg.data, seg.scoring and seg.serve.
"""
