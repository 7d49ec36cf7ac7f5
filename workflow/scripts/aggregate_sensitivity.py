"""Snakemake adapter: sensitivity JSON records -> sensitivity.csv."""

import json
from pathlib import Path

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.sensitivity import sensitivity_table


def main() -> None:
    records = [json.loads(Path(path).read_text()) for path in snakemake.input]
    write_text_atomic(sensitivity_table(records).to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
