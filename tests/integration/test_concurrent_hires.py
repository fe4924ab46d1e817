"""Sixteen identical hires at once on PostgreSQL: one 201, the rest 409, never a 500."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from workforce.models import Role, ServiceKey, Worker
from workforce.services.access import role_group


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_identical_hires_at_once_hire_one_worker_and_answer_409_to_the_rest():
    _, raw = ServiceKey.objects.create_key(name="m", role=role_group(Role.MANAGER.value))
    codes: list[int] = []
    barrier = threading.Barrier(16)

    def hire() -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
            client.raise_request_exception = False
            barrier.wait()
            response = client.post("/api/workers/", {"model_id": "dup/w", "capabilities": ["code"]}, format="json")
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hire) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201] + [409] * 15
    assert Worker.objects.filter(model_id="dup/w").count() == 1
