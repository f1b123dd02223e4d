"""From validated intake forms to model inputs.

:class:`FormEncoder` reads forms into one numeric column per input (blank answers
stay NaN); :class:`AdditiveBasis` expands those into the grouped spline and
indicator design of the interpretable model. Both follow scikit-learn's estimator
contract.
"""

from screening.features._basis import AdditiveBasis
from screening.features._encoder import AUDIT_ATTRIBUTES, FormEncoder

__all__ = ["AUDIT_ATTRIBUTES", "AdditiveBasis", "FormEncoder"]
