"""Metrics per (dataset, method) and their aggregation into benchmark tables."""
