"""The sampler tests' models: re-exported from ``tests/models.py``, their one home."""

from tests.models import (
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    correlated_gaussian,
    eight_schools_centered,
    eight_schools_noncentered,
    eight_schools_reference,
    funnel,
    gaussian,
    german_credit,
    hierarchical_logistic,
    iid_gaussian,
    quickstart_logistic,
)

__all__ = [
    "EIGHT_SCHOOLS_SIGMA",
    "EIGHT_SCHOOLS_Y",
    "correlated_gaussian",
    "eight_schools_centered",
    "eight_schools_noncentered",
    "eight_schools_reference",
    "funnel",
    "gaussian",
    "german_credit",
    "hierarchical_logistic",
    "iid_gaussian",
    "quickstart_logistic",
]
