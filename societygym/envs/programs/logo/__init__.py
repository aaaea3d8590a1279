"""LOGO turtle graphics (ReGAL/LAPS): a Python turtle DSL, a deterministic rasterizer, the
pixel-overlap judge, the templated task generator and the ``ReGAL-Logo-v0`` environment.

Nothing is imported here so that ``import societygym`` stays cheap; import the submodules.
"""
