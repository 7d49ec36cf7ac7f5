"""CLAIRE integration benchmark: data -> preprocessing -> integration -> metrics -> report."""

import sys

from snakemake.utils import min_version, validate

min_version("8.10")

# The `claire` package of this checkout (light modules only while parsing: the method
# registry and the config checks need PyYAML, nothing heavy).
sys.path.insert(0, workflow.basedir)

from claire.bench.registry import check_config_layout

# The default run; a --configfile on the command line (e.g. config/paper.yaml) replaces it
# instead of being merged into it, so its datasets and methods are exactly the ones run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


check_config_layout(config)
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/report_helpers.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/scaling.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
    localrule: True
