"""CLAIRE integration benchmark: data -> preprocessing -> integration -> metrics -> report."""

import sys

from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("8.10")

# The `claire` package of this checkout (light modules only while parsing: the method
# registry and the config checks need PyYAML, nothing heavy).
sys.path.insert(0, workflow.basedir)

from claire.bench.config_check import ConfigError, check_config, schema_problems

SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"

# The default run; a --configfile on the command line (e.g. config/paper.yaml) replaces it
# instead of being merged into it, so its datasets and methods are exactly the ones run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Every problem of the config that can be found now (layout, schema, method and parameter
# names, local dataset files, precomputed embeddings), all at once, before any job starts.
CONFIG_SOURCE = ", ".join(
    str(path) for path in (workflow.overwrite_configfiles or ["config/config.yaml"])
)
problems = schema_problems(config, SCHEMA)
if not problems:
    validate(config, SCHEMA)
    problems, warnings = check_config(config, workflow.basedir)
    for warning in warnings:
        logger.warning(f"{CONFIG_SOURCE}: {warning}")
if problems:
    raise ConfigError(CONFIG_SOURCE, problems)


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


# A table registry entry's built_by names the rule that writes the table (config/tables.yaml).
for _spec in TABLE_SPECS.values():
    if _spec.built_by and not workflow.is_rule(_spec.built_by):
        raise ConfigError(
            CONFIG_SOURCE,
            [f"table {_spec.name!r}: built_by names no rule ({_spec.built_by!r})"],
        )


rule all:
    default_target: True
    input:
        final_outputs(),
    localrule: True
