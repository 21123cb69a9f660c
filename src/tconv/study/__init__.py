"""The diffusion U-Net up-sampling study: which up-sampler leaves a checkerboard?

Real diffusion U-Nets (DDPM, Stable Diffusion) up-sample with a nearest resize and a 3×3
convolution rather than a transposed convolution: a transposed convolution whose kernel size is not
divisible by its stride covers the output unevenly, which paints a checkerboard (Odena, Dumoulin &
Olah 2016); a sub-pixel convolution with ICNR initialisation starts free of it (Aitken et al. 2017).
``python -m tconv.study`` trains one small DDPM per up-sampler on scikit-learn's digits and measures
exactly that (see ``docs/study.md``).

Importing this package is light: only :func:`checkerboard_energy` (NumPy) is loaded. The study itself
(:mod:`tconv.study.cli`, ``model``, ``train``, ...) needs ``pip install 'tconv[study]'``.

>>> import numpy as np, tconv.study
>>> tconv.study.checkerboard_energy(np.kron(np.ones((4, 4)), [[1.0, -1.0], [-1.0, 1.0]]))
1.0
"""

from .energy import checkerboard_energy, white_noise_checkerboard_energy

__all__ = ["checkerboard_energy", "white_noise_checkerboard_energy"]
