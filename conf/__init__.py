"""The shipped configs: commands read them as ``pkg://churn_experiments.conf``.

setup.py installs this folder as the package ``churn_experiments.conf``; edit the YAML
files here (or add your own with ``--config-dir`` or ``CHURN_CONFIG_PATH``).
"""
