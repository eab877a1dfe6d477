"""Graph layer for information matrices."""
