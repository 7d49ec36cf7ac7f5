"""Figures and the Snakemake report."""
