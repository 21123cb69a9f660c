"""The benchmark: layers from real models timed against PyTorch and onnxruntime.

:mod:`~tconv.bench.layers` (the tables), :mod:`~tconv.bench.harness` (measuring),
:mod:`~tconv.bench.report` (records, summary, table, plot), :mod:`~tconv.bench.scaling` (sweeps),
:mod:`~tconv.bench.torch_layer` (the torch layer's forward + backward; imports torch when run).
"""
