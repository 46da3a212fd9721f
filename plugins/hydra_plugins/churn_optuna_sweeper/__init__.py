"""Hydra sweeper driving current Optuna with ask/tell: hydra/sweeper=churn_optuna."""
