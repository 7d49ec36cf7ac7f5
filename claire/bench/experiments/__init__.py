"""The workflow's experiments beyond the benchmark table, as plain functions of the config:
the sensitivity grid (:mod:`.sensitivity`) and the scaling datasets (:mod:`.scaling`).
Light on purpose (the workflow imports them while parsing): registry only.
"""
