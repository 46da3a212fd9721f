"""A basic sweep composes each job's config once (sweep_plan.ComposedOnce)."""

from __future__ import annotations

from omegaconf import OmegaConf

from churn_experiments.sweep_plan import ComposedOnce


def test_each_job_is_composed_once_and_each_caller_gets_its_own_copy():
    calls = []

    def compose(master, overrides):
        calls.append(list(overrides))
        return OmegaConf.create({"model": overrides[0], "hydra": {"job": {"num": 0}}})

    master = OmegaConf.create({"when": "${now:%H-%M-%S-%f}"})
    composed_once = ComposedOnce(compose)
    first = composed_once(master, ["model=rf"])
    first.hydra.job.num = 3  # the launcher numbers its copy
    again = composed_once(master, ("model=rf",))
    other = composed_once(master, ["model=lr"])

    assert calls == [["model=rf"], ["model=lr"]]
    assert again.hydra.job.num == 0 and again.model == "model=rf"
    assert other.model == "model=lr"


def test_copies_share_the_sweeps_resolver_cache_as_hydra_does():
    master = OmegaConf.create({"when": "${now:%H-%M-%S-%f}"})
    composed_once = ComposedOnce(
        lambda master, overrides: OmegaConf.create({"when": "${now:%H-%M-%S-%f}"})
    )
    composed_once(master, ["model=rf"])  # composed before the sweep resolved ${now}
    when = master.when  # the sweep's folder is named now
    assert composed_once(master, ["model=rf"]).when == when
