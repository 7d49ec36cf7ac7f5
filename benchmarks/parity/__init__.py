"""Parity checks of the reimplemented competitors against their authors' code.

One module per method (``clear``, ``smile``, ...), each exposing the interface described
in :mod:`benchmarks.parity.common` (``prepare_authors``, ``run_authors``, ``run_ours``
and a few constants); ``benchmarks/competitor_parity.py`` drives them.
"""
