"""``tconv.convert``: exact conversion between frameworks' conventions — the public path of
:mod:`tconv.interop.convert` (and the layouts of :mod:`tconv.interop.layouts`).

>>> from tconv.convert import from_keras, to_torch
>>> print(to_torch(from_keras(4, strides=2, padding="same")))
torch: ConvTranspose1d(kernel_size=4, stride=2, padding=1, output_padding=0, dilation=1)
  weight: torch (I, O/groups, *k)
"""

from tconv.interop.convert import *  # noqa: F403
from tconv.interop.convert import __all__  # noqa: F401
