"""Ids that end like a sub-route (acme/record, run-7/complete) still read as themselves with GET."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def odd_ids(api):
    api.hire("acme/record")
    api.register("run-7/complete")
    api.register("run-8/assign")


@pytest.mark.parametrize("path", ["/api/tasks/run-7/complete/", "/api/tasks/run-7%2Fcomplete/"])
def test_a_task_id_ending_in_complete_reads_as_the_task(manager_key, odd_ids, path):
    response = manager_key.get(path)
    assert response.status_code == 200, response.content
    assert response.json()["task_id"] == "run-7/complete"


def test_a_task_id_ending_in_assign_reads_as_the_task(manager_key, odd_ids):
    response = manager_key.get("/api/tasks/run-8/assign/")
    assert response.status_code == 200
    assert response.json()["task_id"] == "run-8/assign"


@pytest.mark.parametrize("path", ["/api/workers/acme/record/", "/api/workers/acme%2Frecord/"])
def test_a_worker_id_ending_in_record_reads_as_the_worker(manager_key, odd_ids, path):
    response = manager_key.get(path)
    assert response.status_code == 200, response.content
    assert response.json()["model_id"] == "acme/record"


def test_an_unknown_worker_record_is_still_a_404(manager_key, odd_ids):
    assert manager_key.get("/api/workers/nobody/record/").status_code == 404


def test_a_post_to_complete_still_completes_the_task_it_names(manager_key, api, odd_ids):
    api.register("run-9")
    assert manager_key.post("/api/tasks/run-9/complete/", {}, format="json").json()["status"] == "COMPLETED"
