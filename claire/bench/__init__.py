"""The benchmark library: datasets, preprocessing, competitor adapters, metrics, plots."""
