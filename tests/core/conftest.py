"""Fixtures shared by the worker and broker tests."""

import pytest

from .services import CeleryWorker


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start workers on demand; every one is stopped before the test database is flushed."""
    workers: list[CeleryWorker] = []

    def start(broker_url: str, queue: str) -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=broker_url, queue=queue, log_path=tmp_path / f"worker-{len(workers)}.log"
        )
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()
