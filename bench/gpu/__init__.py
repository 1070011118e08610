"""Measuring the saliency network on a GPU machine that has PyTorch but no TensorFlow.

``export_onnx`` (here, needs ``pip install tf2onnx onnx``) writes the Keras network to ONNX and a
reference input/output pair; ``time_torch`` (there, needs torch, onnx and onnx2torch) converts
it, checks it against the reference and times batches. Neither is a focuspress dependency.
"""
