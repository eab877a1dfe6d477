"""Warm-up adaptation.

Dual averaging of the step size, and the integration-time windows (``register_jitable``: both
chain loops run them).
"""
