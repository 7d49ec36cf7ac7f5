"""Where a workflow run's time went, per rule, from its Snakemake benchmark records (issue 24).

    python benchmarks/rule_costs.py results                      # one run
    python benchmarks/rule_costs.py /tmp/new/results --before /tmp/old/results

Prints a markdown table: jobs, summed wall seconds, summed CPU seconds (user + sys of the
job and its children, as Snakemake samples it) and the largest peak RSS per rule, with a
total row; with ``--before``, both runs side by side. Only rules with a ``benchmark:``
record count (not ``all``, nor ``snakemake --report`` after the run); summed wall seconds
exceed the run's wall time when jobs ran in parallel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from claire.bench.tables.rule_costs import compare, rule_costs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the run's results folder")
    parser.add_argument("--before", type=Path, help="an earlier run's results folder")
    args = parser.parse_args(argv)
    after = rule_costs(args.results)
    table = after if args.before is None else compare(rule_costs(args.before), after)
    print(table.to_markdown(index=False, floatfmt=".0f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
