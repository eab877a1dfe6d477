"""Kernel-agnostic transitions.

Draw the randomness and run a kernel (fixed length, No-U-Turn, one chain iteration).
"""
