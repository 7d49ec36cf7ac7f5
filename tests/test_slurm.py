"""The workflow on a real single-node SLURM (scripts/slurm_local.sh) and the cluster profiles.

The cluster tests (marker ``slurm``) start munged, slurmctld and slurmd from Debian's packages
under a temporary folder, run a small configuration through ``snakemake --executor slurm
--profile config/profiles/slurm`` and compare its results with a local run of the same config.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import yaml
from helpers.workflow import (
    PCA_METHOD,
    PCA_PARAMS,
    ROOT,
    integration_path,
    rules_declaring_threads,
    run_snakemake,
    tiny_dataset,
    workflow_rules,
)
from snakemake.profiles import ProfileConfigFileParser

SCRIPT = ROOT / "scripts" / "slurm_local.sh"
SLURM_PROFILE = ROOT / "config" / "profiles" / "slurm"
LOCAL_PROFILE = ROOT / "config" / "profiles" / "local"
BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol")
APT_LINE = "apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
SNAKEMAKE_LIMIT_S = 600  # hard bound: a hung snakemake ignores SIGTERM, so it gets SIGKILL
SETTINGS = (
    "CLAIRE_SLURM_PARTITION",
    "CLAIRE_SLURM_GPU_PARTITION",
    "CLAIRE_SLURM_ACCOUNT",
    "CLAIRE_METHOD_REGISTRY",
    "CLAIRE_SLURM_CPUS_PER_GPU",
    "CLAIRE_SLURM_STATUS_COMMAND",
    "CLAIRE_SOFTWARE_DEPLOYMENT",
    "CLAIRE_LOCAL_GPUS",
)


def parse_profile(profile: Path, monkeypatch, **settings: str) -> dict:
    """The options Snakemake reads from ``profile`` when only ``settings`` are in the env."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with open(profile / "config.yaml") as stream:
        return dict(ProfileConfigFileParser().parse(stream))


def resource_args(options: dict, key: str) -> dict[str, str]:
    """``default-resources``/``set-resources`` entries as {"[rule:]name": expression}."""
    return dict(item.split("=", 1) for item in options.get(key, []))


# ---------------------------------------------------------------- profiles (no cluster needed)


def test_slurm_profile_without_settings_names_no_site(monkeypatch):
    options = parse_profile(SLURM_PROFILE, monkeypatch)
    assert options["executor"] == "slurm"
    assert options["software-deployment-method"] == "conda"
    assert int(options["jobs"]) > 1 and int(options["latency-wait"]) >= 30
    assert int(options["retries"]) >= 1 and options["slurm-logdir"]
    defaults = resource_args(options, "default-resources")
    assert int(defaults["runtime"]) > 0 and int(defaults["mem_mb"]) > 0
    assert "slurm_partition" not in defaults and "slurm_account" not in defaults
    assert "slurm-status-command" not in options  # the plugin picks sacct where it works
    per_rule = resource_args(options, "set-resources")
    # GPU counts come from the rule (the method registry's `gpu`); the profile adds the CPUs
    # that come with a GPU, and no partition when none is configured.
    assert int(per_rule["integrate:cpus_per_gpu"]) >= 1
    assert not any(key.endswith(":gpu") for key in per_rule)
    assert not any(key.endswith(":slurm_partition") for key in per_rule)
    # More memory where the paper's datasets need it, doubled on the retry after an OOM kill.
    for rule, floor in (
        ("compute_metrics", 16000),
        ("training_curve", 16000),
    ):
        mem, runtime = per_rule[f"{rule}:mem_mb"], per_rule[f"{rule}:runtime"]
        assert eval(mem, {"attempt": 1}) >= floor and eval(mem, {"attempt": 2}) >= 2 * floor
        assert eval(runtime, {"attempt": 2}) == 2 * eval(runtime, {"attempt": 1}) >= 120
    # The plugin rejects --gpus/--gres in slurm_extra: GPUs go through the gpu resource.
    assert all(key.split(":")[1] != "slurm_extra" for key in per_rule)


def test_slurm_profile_takes_partitions_account_and_gpu_methods_from_registry(
    monkeypatch, tmp_path
):
    extra = tmp_path / "methods.yaml"
    extra.write_text(yaml.safe_dump({"my_gpu_method": {**PCA_METHOD, "gpu": True}}))
    options = parse_profile(
        SLURM_PROFILE,
        monkeypatch,
        CLAIRE_SLURM_PARTITION="all",  # a partition named like a Python builtin stays a string
        CLAIRE_SLURM_GPU_PARTITION="gpu-a100",
        CLAIRE_SLURM_ACCOUNT="123456",
        CLAIRE_METHOD_REGISTRY=str(extra),
        CLAIRE_SLURM_STATUS_COMMAND="squeue",
        CLAIRE_SOFTWARE_DEPLOYMENT="none",
    )
    assert options["slurm-status-command"] == "squeue"
    assert "software-deployment-method" not in options
    defaults = resource_args(options, "default-resources")
    assert eval(defaults["slurm_partition"]) == "all"
    assert eval(defaults["slurm_account"]) == "123456"
    per_rule = resource_args(options, "set-resources")

    def for_method(key: str, method: str):
        wildcards = type("Wildcards", (), {"method": method})()
        return eval(per_rule[f"integrate:{key}"], {"wildcards": wildcards})

    # registry entries with gpu: true (built-in and from CLAIRE_METHOD_REGISTRY), and the
    # sensitivity grid's runs of CLAIRE, go to the GPU partition; the others stay on CPUs
    for method in ("claire", "claire_var1", "scvi", "my_gpu_method", "claire__alpha_0.3"):
        assert for_method("slurm_partition", method) == "gpu-a100", method
    for method in ("harmony", "pca", "seurat"):
        assert for_method("slurm_partition", method) == "all", method


def test_local_profile_shares_the_gpus_and_caps_memory(monkeypatch):
    options = parse_profile(LOCAL_PROFILE, monkeypatch)
    assert options["cores"] == "all"
    limits = resource_args(options, "resources")
    assert int(limits["gpu"]) == 1
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    assert 0.5 * total_mb < int(limits["mem_mb"]) < total_mb
    assert "set-resources" not in options  # GPU counts come from the method registry

    no_gpu = parse_profile(LOCAL_PROFILE, monkeypatch, CLAIRE_LOCAL_GPUS="0")
    assert "gpu" not in resource_args(no_gpu, "resources")
    assert "set-resources" not in no_gpu


@pytest.mark.parametrize("config_name", ["config.yaml", "paper.yaml"])
def test_every_rule_declares_what_a_scheduler_needs(config_name):
    """threads, mem_mb and runtime on every rule that runs code, so SLURM can place it."""
    configfile = ROOT / "config" / config_name
    if not configfile.exists():
        pytest.skip(f"{config_name} not written yet")
    with_threads = rules_declaring_threads()
    problems = []
    for name, rule in workflow_rules(configfile).items():
        if not rule["runs_code"]:
            continue
        missing = [key for key in ("mem_mb", "runtime") if key not in rule["resources"]]
        missing += [] if name in with_threads else ["threads"]
        if missing:
            problems.append(f"rule {name}: no {', '.join(missing)}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the single-node cluster


@dataclass
class Cluster:
    folder: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def job_records(self) -> dict[str, dict[str, str]]:
        """Finished jobs from the cluster's jobcomp file, by job id."""
        records = {}
        path = self.folder / "log" / "jobcomp.txt"
        for line in path.read_text().splitlines() if path.exists() else []:
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            records[fields["JobId"]] = fields
        return records


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _script(action: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), action, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


@pytest.fixture
def slurm_cluster(tmp_path_factory):
    """A running single-node SLURM with partitions cpu and gpu; stopped (by PID) afterwards."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        pytest.skip(f"SLURM/munge binaries missing ({', '.join(missing)}); install: {APT_LINE}")
    if os.geteuid() != 0:
        pytest.skip("a single-node SLURM needs root (slurmd starts the jobs)")
    if Path("/etc/slurm/slurm.conf").exists():
        pytest.skip("/etc/slurm/slurm.conf exists: this machine has its own SLURM")
    folder = tmp_path_factory.mktemp("slurm")
    env = {
        **os.environ,
        "SLURM_LOCAL_CTLD_PORT": str(_free_port()),
        "SLURM_LOCAL_SLURMD_PORT": str(_free_port()),
        "SLURM_LOCAL_GPUS": "1",
        # The rules ask for honest cluster-sized memory (GBs); the tiny data needs far less,
        # so the node advertises enough for them to be placed on a small CI machine.
        "SLURM_LOCAL_CPUS": str(max(os.cpu_count() or 1, 4)),
        "SLURM_LOCAL_MEM_MB": "65536",
    }
    run_conf = Path("/run/slurm/conf")
    planted = not run_conf.is_symlink() and not run_conf.exists()
    if planted:  # what a killed run leaves behind: a link to a cluster that is gone
        run_conf.parent.mkdir(parents=True, exist_ok=True)
        run_conf.symlink_to(tmp_path_factory.mktemp("killed_run") / "etc")
    started = _script("start", folder, env)
    cluster = Cluster(folder, {**os.environ, "SLURM_CONF": str(folder / "etc" / "slurm.conf")})
    try:
        assert started.returncode == 0, f"cluster did not start:\n{started.stderr[-4000:]}"
        assert not planted or "replacing stale /run/slurm/conf" in started.stderr
        yield cluster
    finally:
        stopped = _script("stop", folder, env)
        assert stopped.returncode == 0, stopped.stderr
        status = _script("status", folder, env)
        assert status.returncode == 3 and status.stdout.count(": stopped") == 3, status.stdout
        assert not run_conf.is_symlink() and not run_conf.exists()


@pytest.mark.slurm
def test_script_runs_a_job_and_stops_every_daemon(slurm_cluster):
    status = slurm_cluster.run(str(SCRIPT), "status", str(slurm_cluster.folder))
    pids = [int(pid) for pid in re.findall(r"running \(pid (\d+)\)", status.stdout)]
    assert status.returncode == 0 and len(pids) == 3, status.stdout + status.stderr
    assert re.search(r"^\S+ gpu idle", status.stdout, flags=re.MULTILINE)

    submitted = slurm_cluster.run(
        "sbatch", "--parsable", "-p", "gpu", "--gpus=1", "--mem=100",
        "-o", str(slurm_cluster.folder / "job.out"), "--wrap", "hostname",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]
    deadline = time.monotonic() + 60
    while job_id not in slurm_cluster.job_records() and time.monotonic() < deadline:
        time.sleep(0.5)
    record = slurm_cluster.job_records()[job_id]
    assert record["JobState"] == "COMPLETED" and record["Partition"] == "gpu"
    assert (slurm_cluster.folder / "job.out").read_text().strip() == socket.gethostname()

    stopped = _script("stop", slurm_cluster.folder, slurm_cluster.env)
    assert stopped.returncode == 0, stopped.stderr
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"daemon {pid} survived stop"


# A GPU method of an extra registry file: PCA with `gpu: true`.
REGISTRY = {"pca_gpu": {**PCA_METHOD, "gpu": True, "params": {"n_comps": 10}}}


def _tiny_config(registry: Path) -> dict:
    """One small simulated dataset; a short CLAIRE run and PCA twice, once as a GPU method."""
    return {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["pca", "pca_gpu", "claire"],
        "method_params": {
            **PCA_PARAMS,
            "claire": {"preset": "paper", "epochs": 3, "refine_epoch": 1},
        },
        "method_registry": [str(registry)],
    }


def _write_registry(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "methods.yaml"
    path.write_text(yaml.safe_dump(REGISTRY))
    return path


METHODS = ("pca", "pca_gpu", "claire")
EMBEDDINGS = tuple(integration_path("tiny", m) for m in METHODS)
METRICS = tuple(integration_path("tiny", m, kind="metrics") for m in ("pca", "pca_gpu"))
TARGETS = EMBEDDINGS + METRICS
RULE_JOBS = {"raw_data": 1, "preprocess": 1, "integrate": 3, "compute_metrics": 2}


def _run_through_slurm(workdir: Path, cluster: Cluster) -> subprocess.CompletedProcess:
    """``snakemake --executor slurm --profile config/profiles/slurm`` on ``_tiny_config``."""
    registry = _write_registry(workdir)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(_tiny_config(registry), sort_keys=False))
    env = {
        **cluster.env,
        "CLAIRE_SLURM_PARTITION": "cpu",
        "CLAIRE_SLURM_GPU_PARTITION": "gpu",
        "CLAIRE_METHOD_REGISTRY": str(registry),
        "CLAIRE_SLURM_CPUS_PER_GPU": "1",
        # No accounting database here: poll squeue (slurm.conf keeps jobs for MinJobAge=300 s).
        "CLAIRE_SLURM_STATUS_COMMAND": "squeue",
        # No conda here: every job uses this test's Python environment.
        "CLAIRE_SOFTWARE_DEPLOYMENT": "none",
    }
    for name in ("CLAIRE_SLURM_ACCOUNT", "SLURM_JOB_ID"):
        env.pop(name, None)
    cmd = [
        "timeout", "-s", "KILL", str(SNAKEMAKE_LIMIT_S),
        sys.executable, "-m", "snakemake",
        "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(config_path),
        "--executor", "slurm",
        "--profile", str(SLURM_PROFILE),
        "--slurm-init-seconds-before-status-checks", "2",
        *TARGETS,
    ]  # fmt: skip
    return subprocess.run(
        cmd, env=env, cwd=workdir, capture_output=True, text=True, timeout=SNAKEMAKE_LIMIT_S + 30
    )


@pytest.mark.slurm
def test_workflow_through_slurm_equals_local_run(slurm_cluster, tmp_path):
    # The local reference run goes on meanwhile (the SLURM run mostly waits on polling).
    with ThreadPoolExecutor(max_workers=1) as pool:
        local_config = _tiny_config(_write_registry(tmp_path / "local"))
        local_run = pool.submit(run_snakemake, tmp_path / "local", local_config, TARGETS)
        on_slurm = _run_through_slurm(tmp_path / "slurm", slurm_cluster)
        local = local_run.result()
    output = on_slurm.stdout + on_slurm.stderr
    assert on_slurm.returncode == 0, f"rc={on_slurm.returncode}\n{output[-6000:]}"

    # Every compute job went through sbatch: "Job <n> has been submitted with SLURM jobid <id>
    # (log: .../rule_<rule>/...)", and SLURM itself recorded it as completed.
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    by_rule: dict[str, list[str]] = {}
    wildcards = {}
    for job_id, log in submitted:
        log_path = Path(log)  # <slurm-logdir>/rule_<rule>/<wildcards>/<job id>.log
        assert log_path.exists(), f"no SLURM log for job {job_id}"
        by_rule.setdefault(log_path.parent.parent.name.removeprefix("rule_"), []).append(job_id)
        wildcards[job_id] = log_path.parent.name
    assert {rule: len(ids) for rule, ids in by_rule.items()} == RULE_JOBS, output[-4000:]
    records = slurm_cluster.job_records()
    job_ids = [job_id for job_id, _ in submitted]
    for job_id in job_ids:
        assert records[job_id]["JobState"] == "COMPLETED", records.get(job_id)
    print(f"SLURM job ids seen: {', '.join(job_ids)}")

    # Placement from the profile: CLAIRE and the GPU method on the gpu partition with a GPU.
    placement = {}
    for job_id in by_rule["integrate"]:
        shown = slurm_cluster.run("scontrol", "show", "job", job_id).stdout
        method = wildcards[job_id].removeprefix("tiny_").removesuffix("_0")
        placement[method] = (records[job_id]["Partition"], "TresPerJob=gres:gpu:1" in shown)
    assert placement == {
        "pca": ("cpu", False),
        "pca_gpu": ("gpu", True),
        "claire": ("gpu", True),
    }

    assert local.returncode == 0, local.stderr[-4000:]
    for relative in ("results/data/tiny/raw.h5ad", "results/data/tiny/preprocessed.h5ad"):
        a, b = (ad.read_h5ad(tmp_path / run / relative) for run in ("slurm", "local"))
        assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
        np.testing.assert_array_equal(a.X.toarray(), b.X.toarray())
    for relative in EMBEDDINGS:
        a, b = (ad.read_h5ad(tmp_path / run / relative) for run in ("slurm", "local"))
        assert a.uns["integration"]["status"] == b.uns["integration"]["status"] == "ok"
        assert list(a.obs_names) == list(b.obs_names)
        np.testing.assert_allclose(a.obsm["X_emb"], b.obsm["X_emb"], rtol=1e-4, atol=1e-5)
    for relative in METRICS:
        a, b = (json.loads((tmp_path / run / relative).read_text()) for run in ("slurm", "local"))
        assert a["status"] == b["status"] == "ok"
        for metric in ("basw", "kbet", "nmi", "ari"):
            assert a[metric] == pytest.approx(b[metric], abs=1e-6), metric
