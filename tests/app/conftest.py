import pytest


@pytest.fixture(autouse=True)
def no_warm_workers(monkeypatch):
    """Page tests render the Train page many times in fresh homes: no warm worker for each."""
    monkeypatch.setenv("METALEARN_WARM_WORKER", "0")
