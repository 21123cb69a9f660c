"""The benchmark: layers from real models timed against PyTorch and onnxruntime (:mod:`tconv.bench.harness`)."""
