import mlflow


def test_tutorial_sweep_records_one_parent_and_four_children(tutorial_sweep):
    client = mlflow.MlflowClient(tutorial_sweep.tracking_uri)
    parent = client.get_run(tutorial_sweep.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert set(tutorial_sweep.run_ids) == {"lr", "rf", "svc", "gb"}
    for run_id in tutorial_sweep.run_ids.values():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == tutorial_sweep.parent_run_id
