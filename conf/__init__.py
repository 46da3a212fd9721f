"""The shipped configs: commands read them as ``pkg://churn_experiments.conf``.

The symlink ``churn_experiments/conf`` makes this folder that package (an installed
copy holds the files themselves); edit the YAML files here, or add your own with
``--config-dir`` or ``CHURN_CONFIG_PATH``.
"""
