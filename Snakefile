"""CLAIRE integration benchmark: data -> preprocessing -> integration -> metrics -> report."""

import os

from snakemake.utils import min_version, validate

min_version("8.10")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

# Workflow scripts import the `claire` package from this checkout, also inside conda envs.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (workflow.basedir, os.environ.get("PYTHONPATH", "")) if p
)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        ALL_TARGETS,
    localrule: True
