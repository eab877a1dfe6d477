"""``random_seed``: what every public function accepts, as ``pm.sample`` does.

PyMC takes ``None``, an int, a sequence of ints, an array of ints, a ``Generator`` or a legacy
``RandomState``; NumPy adds ``SeedSequence`` and ``BitGenerator``. All of them turn into a
``SeedSequence`` (to spawn independent streams) or a ``Generator`` (to draw) here. An int gives
the same streams as ``np.random.SeedSequence(int)`` and ``np.random.default_rng(int)``, so
results seeded by an int do not change; a ``Generator`` or ``RandomState`` is drawn from, so
it advances, as NumPy's functions that take one do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["RandomSeed", "as_generator", "seed_sequence"]

type RandomSeed = (
    int
    | Sequence[int]
    | np.ndarray
    | np.random.SeedSequence
    | np.random.BitGenerator
    | np.random.Generator
    | np.random.RandomState
    | None
)

# Entropy drawn from a generator to seed a SeedSequence: four 64-bit words, as SeedSequence's
# own pool size.
_WORDS = 4


def seed_sequence(random_seed: RandomSeed) -> np.random.SeedSequence:
    """A ``SeedSequence`` from anything ``random_seed`` may be.

    Examples
    --------
    >>> seed_sequence(3).entropy
    3
    >>> a = seed_sequence(np.random.default_rng(0)).generate_state(1)
    >>> b = seed_sequence(np.random.default_rng(0)).generate_state(1)
    >>> bool(a[0] == b[0])
    True
    """
    if isinstance(random_seed, np.random.SeedSequence):
        return random_seed
    if isinstance(random_seed, np.random.BitGenerator):
        random_seed = np.random.Generator(random_seed)
    if isinstance(random_seed, np.random.Generator):
        words = random_seed.integers(0, 2**63, size=_WORDS, dtype=np.int64)
        return np.random.SeedSequence([int(w) for w in words])
    if isinstance(random_seed, np.random.RandomState):  # PyMC accepts the legacy generator
        words = random_seed.randint(0, 2**31, size=_WORDS)
        return np.random.SeedSequence([int(w) for w in words])
    if isinstance(random_seed, bool) or (
        random_seed is not None and not _is_integer_seed(random_seed)
    ):
        raise TypeError(
            f"random_seed={random_seed!r} is not a seed: give None, an int, a sequence of ints, "
            "a numpy SeedSequence, BitGenerator or Generator."
        )
    return np.random.SeedSequence(random_seed)


def _is_integer_seed(value: object) -> bool:
    if isinstance(value, int | np.integer):
        return True
    array = np.asarray(value)
    return array.ndim == 1 and array.size > 0 and np.issubdtype(array.dtype, np.integer)


def as_generator(random_seed: RandomSeed) -> np.random.Generator:
    """A ``Generator`` from anything ``random_seed`` may be (a ``Generator`` is returned as is).

    Examples
    --------
    >>> float(as_generator(1).random()) == float(np.random.default_rng(1).random())
    True
    """
    if isinstance(random_seed, np.random.Generator):
        return random_seed
    if isinstance(random_seed, np.random.BitGenerator):
        return np.random.Generator(random_seed)
    return np.random.default_rng(seed_sequence(random_seed))
