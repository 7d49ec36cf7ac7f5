"""CLAIRE integration benchmark: data -> preprocessing -> integration -> metrics -> report."""

from snakemake.utils import min_version, validate

min_version("8.10")


# The default run; a --configfile on the command line (e.g. config/paper.yaml) replaces it
# instead of being merged into it, so its datasets and methods are exactly the ones run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


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
