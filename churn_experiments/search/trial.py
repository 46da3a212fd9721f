"""One trial of a search, as its job sees it: tags for its run, pruning reports."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from churn_experiments.metric_names import CV_METRICS, held_out_score

if TYPE_CHECKING:
    from churn_experiments.cross_validation import FoldReporter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trial:
    """The study and trial number the sweeper gave this job (``hydra.sweeper``)."""

    study_name: str
    storage: str | None
    number: int
    pruner: dict[str, Any] | None = None

    @classmethod
    def from_hydra(cls, hydra: DictConfig) -> Trial | None:
        """The trial of a job launched by the Optuna sweeper, else ``None``."""
        sweeper = hydra.get("sweeper")
        if sweeper is None or sweeper.get("trial") is None:
            return None
        pruner = sweeper.get("pruner")
        return cls(
            study_name=str(sweeper.study_name),
            storage=sweeper.get("storage"),
            number=int(sweeper.trial),
            pruner=OmegaConf.to_container(pruner, resolve=True) if pruner else None,
        )

    def tags(self) -> dict[str, str]:
        """Tags of the trial's run: its study and number."""
        return {"search_study": self.study_name, "search_trial": str(self.number)}

    def fold_reporter(self, objective: str) -> FoldReporter | None:
        """Report the objective's running CV mean after each fold to the pruner.

        ``None`` without a pruner, a stored study or a cross-validated objective.
        The reporter raises ``optuna.TrialPruned`` when the pruner says stop.
        """
        if not self.pruner or not self.storage or objective not in CV_METRICS:
            return None
        import optuna
        from hydra.utils import instantiate

        storage = optuna.storages.get_storage(self.storage)
        trial_id = storage.get_trial_id_from_study_id_trial_number(
            storage.get_study_id_from_name(self.study_name), self.number
        )
        study = optuna.load_study(
            study_name=self.study_name, storage=storage, pruner=instantiate(self.pruner)
        )
        trial = optuna.trial.Trial(study, trial_id)
        score = held_out_score(objective)

        def report(fold: int, means: Mapping[str, float]) -> None:
            trial.report(means[score], fold)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"trial {self.number}: {score} {means[score]:.4f} after "
                    f"{fold + 1} fold(s) is worse than the pruner allows"
                )

        return report


def is_pruned(error: BaseException) -> bool:
    """Whether ``error`` is Optuna's signal that the pruner stopped the trial."""
    return type(error).__name__ == "TrialPruned" and type(error).__module__.startswith(
        "optuna"
    )
