"""Driver and worker sides of the Ray launcher (imported only when jobs launch)."""

import functools
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    configure_log,
    filter_overrides,
    run_job,
    setup_globals,
)
from hydra.types import TaskFunction
from omegaconf import DictConfig, open_dict
from ray import cloudpickle

from .ray_launcher import RayLauncher

log = logging.getLogger(__name__)

# Environment variables that each job sees exactly as the launching process has them.
PROPAGATED_ENV_PREFIXES = ("CHURN_", "MLFLOW_")


@dataclass(frozen=True)
class DriverState:
    """What a job needs from the launching process: cwd, import path, env vars."""

    cwd: str
    sys_path: tuple[str, ...]
    env: dict[str, str]

    @classmethod
    def capture(cls) -> "DriverState":
        return cls(cwd=os.getcwd(), sys_path=tuple(sys.path), env=_propagated_env())

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Run the body as in the driver; restore the (reused) worker afterwards."""
        saved_env = _propagated_env()
        saved_cwd = os.getcwd()
        saved_path = list(sys.path)
        _replace_env(self.env)
        if os.path.isdir(self.cwd):
            os.chdir(self.cwd)
        sys.path.extend(
            p for p in self.sys_path if p not in sys.path and os.path.isdir(p)
        )
        try:
            yield
        finally:
            _replace_env(saved_env)
            os.chdir(saved_cwd)
            sys.path[:] = saved_path


def _propagated_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k.startswith(PROPAGATED_ENV_PREFIXES)
    }


def _replace_env(env: dict[str, str]) -> None:
    for key in _propagated_env():
        del os.environ[key]
    os.environ.update(env)


def _with_remote_traceback(task_function: TaskFunction) -> TaskFunction:
    """Attach the worker's traceback to a job's exception (pickling drops it)."""

    @functools.wraps(task_function)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return task_function(cfg)
        except Exception as e:
            remote_tb = traceback.format_exc()
            e.add_note(f"Traceback in Ray worker pid {os.getpid()}:\n{remote_tb}")
            raise

    return wrapped


def execute_job(payload: bytes, sweep_config: bytes, driver: DriverState) -> JobReturn:
    """Ray task: run one Hydra job as ``run_job`` would in the driver."""
    with driver.applied():
        # unpickled only now, so that the driver's sys.path is in place
        hydra_context, task_function, singleton_state = cloudpickle.loads(payload)
        config = cloudpickle.loads(sweep_config)
        setup_globals()
        Singleton.set_state(singleton_state)
        HydraConfig.instance().set_config(config)
        return run_job(
            hydra_context=hydra_context,
            task_function=_with_remote_traceback(task_function),
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )


def _connect(launcher: RayLauncher) -> bool:
    """Connect to (or start) the cluster; True if this call ran ``ray.init``."""
    if ray.is_initialized():
        log.info("Ray launcher: reusing this process's Ray connection")
        return False
    if launcher.address is None:
        ray.init(address="local", num_cpus=launcher.num_cpus, **launcher.init_kwargs)
    else:
        if launcher.num_cpus is not None:
            log.warning(
                "Ray launcher: num_cpus is ignored with address=%s", launcher.address
            )
        ray.init(address=launcher.address, **launcher.init_kwargs)
    return True


def _failed(overrides: Sequence[str], error: BaseException) -> JobReturn:
    ret = JobReturn(overrides=list(overrides), status=JobStatus.FAILED)
    ret.return_value = error
    return ret


def _collect(
    refs: list[Any], job_overrides: Sequence[Sequence[str]]
) -> list[JobReturn]:
    """Wait for the tasks, logging each as it ends; results in submission order."""
    position = {ref: i for i, ref in enumerate(refs)}
    results: dict[int, JobReturn] = {}
    pending = list(refs)
    try:
        while pending:
            [ref], pending = ray.wait(pending, num_returns=1)
            i = position[ref]
            try:
                ret = ray.get(ref)
            except Exception as e:  # the worker died or the result did not unpickle
                ret = _failed(job_overrides[i], e)
            results[i] = ret
            label = " ".join(filter_overrides(job_overrides[i]))
            if ret.status == JobStatus.COMPLETED:
                log.info("job %d/%d finished (%s)", i + 1, len(refs), label)
            else:
                log.error(
                    "job %d/%d failed (%s): %r",
                    i + 1,
                    len(refs),
                    label,
                    ret._return_value,
                )
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return [results[i] for i in range(len(refs))]


def launch(
    launcher: RayLauncher,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
) -> Sequence[JobReturn]:
    """Submit one Ray task per job and return their ``JobReturn`` in order."""
    setup_globals()
    assert launcher.config is not None
    assert launcher.task_function is not None
    assert launcher.hydra_context is not None
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)

    started = _connect(launcher)
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        log.info(
            "Ray launcher: submitting %d jobs to %s (%g CPUs), sweep output dir: %s",
            len(job_overrides),
            launcher.address or "a local cluster",
            cpus,
            sweep_dir,
        )
        payload = ray.put(
            cloudpickle.dumps(
                (launcher.hydra_context, launcher.task_function, Singleton.get_state())
            )
        )
        driver = DriverState.capture()
        remote = ray.remote(execute_job)
        refs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
            sweep_config = launcher.hydra_context.config_loader.load_sweep_config(
                config, list(overrides)
            )
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
                sweep_config.hydra.job.num = idx
            task = remote.options(
                name=f"hydra job {idx}",
                num_cpus=launcher.num_cpus_per_job,
                max_retries=0,  # a rerun would log a second MLflow run for the job
            )
            refs.append(task.remote(payload, cloudpickle.dumps(sweep_config), driver))
        return _collect(refs, job_overrides)
    finally:
        if started and launcher.shutdown_after:
            ray.shutdown()
