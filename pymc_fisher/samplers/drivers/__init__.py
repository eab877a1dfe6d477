"""What users run.

The model's compiled functions, the kernel choice, the ``pm.sample`` step method,
``pmf.sample``'s chains, and the DataTree.
"""
