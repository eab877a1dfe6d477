"""Shared types: positions, states, reports, chain records, the options and the ``Kernel``."""
