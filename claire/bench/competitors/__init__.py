"""Faithful reimplementations of competitors that exist only as research code.

One module per method (network, losses, trainer and its ``run`` adapter), with the parts
they share: ``_contrastive`` (contrastive training scaffolding), ``_deep_clustering``
(DEC-style clustering scaffolding) and ``anchor_score`` (Seurat's anchor score, for MAT2).
"""
