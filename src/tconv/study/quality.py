"""Sample quality: how sure a digit classifier is about the generated digits.

A logistic regression is fitted on three quarters of scikit-learn's 8×8 digits (a fixed split).
A 16×16 sample is brought back to 8×8 by averaging 2×2 blocks, and its pixels to [0, 1]; its score is the classifier's largest class probability, ``max_k p(k | x)``, and the quality of a
set of samples is the mean of those scores. The held-out quarter, sent through the same 16×16 → 8×8
path, gives the real data's reference. Blurry, blotchy or noisy samples look like no digit in
particular and score lower (uniform noise scores about 0.5; the floor, all ten classes equally
likely, is 0.1). The features are scaled to [0, 1] and the classifier keeps scikit-learn's
default regularisation ``C = 1``: on raw 0..16 pixels it is so over-confident that noise scores 0.86.
It is a cheap, self-contained stand-in for a Fréchet distance, not a
perfect judge: it does not see diversity (a model drawing only perfect 1s would score high).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import DIGITS_MAX, Digits, downsample2_mean, from_unit

__all__ = ["QualityScorer", "fit_scorer"]


@dataclass(frozen=True)
class QualityScorer:
    """A fitted classifier, and the held-out real images (``(N, 1, 16, 16)`` in [-1, 1]) it was not fitted on."""

    classifier: object
    held_out: np.ndarray

    def score(self, images: np.ndarray) -> float:
        """Mean max-probability over ``images`` ``(N, 1, 16, 16)`` in [-1, 1]."""
        x8 = from_unit(downsample2_mean(np.asarray(images, dtype=np.float64)[:, 0])) / DIGITS_MAX
        proba = self.classifier.predict_proba(x8.reshape(len(x8), -1))
        return float(proba.max(axis=1).mean())

    def reference(self) -> float:
        """The held-out real digits' score."""
        return self.score(self.held_out)


def fit_scorer(digits: Digits, seed: int = 0) -> QualityScorer:
    """Fit ``LogisticRegression`` on a fixed 75 % of the digits (8×8, pixels scaled to [0, 1])."""
    from sklearn.linear_model import LogisticRegression

    order = np.random.default_rng(seed).permutation(len(digits.labels))
    cut = (3 * len(order)) // 4
    fit, held = order[:cut], order[cut:]
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(digits.images8[fit].reshape(len(fit), -1) / DIGITS_MAX, digits.labels[fit])
    return QualityScorer(classifier=classifier, held_out=digits.images[held])
