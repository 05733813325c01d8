"""Classroom mode's scoping: each person's store shows and acts on their own runs and sweeps only."""

from __future__ import annotations

import pytest

from metalearn_core.classroom import (
    ScopedRunStore,
    ScopedSweepStore,
    Viewer,
    classroom_settings,
)
from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunNotFound, RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepNotFound, SweepStore

ADA, BOB, TEACHER = "ada@school.org", "bob@school.org", "teach@school.org"


@pytest.fixture
def class_store(tmp_path, store_backend):
    """A store with two runs of Ada, one of Bob and one from before classroom mode (no owner)."""
    store = RunStore(tmp_path / "home")
    ids = {"ada": [store.create_run(RunConfig(name="a1"), owner=ADA), store.create_run(RunConfig(name="a2"), owner=ADA)],
           "bob": [store.create_run(RunConfig(name="b1"), owner=BOB)],
           "none": [store.create_run(RunConfig(name="old"))]}
    return store, ids


def test_each_person_lists_and_reads_only_their_own_runs(class_store):
    store, ids = class_store
    ada = ScopedRunStore(store, Viewer(ADA))
    assert [run.id for run in ada.list_runs()] == sorted(ids["ada"], reverse=True)
    assert ada.list_runs(owner=BOB) == []  # asking for someone else's runs by name gives nothing
    assert ada.get(ids["ada"][0]).name == "a1"
    for other in ids["bob"] + ids["none"]:
        with pytest.raises(RunNotFound):
            ada.get(other)
        with pytest.raises(RunNotFound):
            ada.metrics(other)
    assert [run.name for run in ScopedRunStore(store, Viewer(BOB)).list_runs(statuses=("queued",))] == ["b1"]


def test_nobody_can_cancel_rename_or_delete_someone_elses_run(class_store):
    store, ids = class_store
    ada = ScopedRunStore(store, Viewer(ADA))
    bobs = ids["bob"][0]
    for action in (lambda: ada.request_cancel(bobs), lambda: ada.rename(bobs, "mine now"), lambda: ada.delete(bobs)):
        with pytest.raises(RunNotFound):
            action()
    run = store.get(bobs)
    assert run.name == "b1" and not run.cancel_requested and run.status == "queued"
    ada.rename(ids["ada"][0], "renamed")  # her own: allowed
    assert store.get(ids["ada"][0]).name == "renamed"


def test_a_new_run_belongs_to_whoever_is_signed_in(class_store):
    store, _ = class_store
    ada = ScopedRunStore(store, Viewer(ADA))
    run_id = ada.create_run(RunConfig(name="new"), owner=BOB)  # a caller cannot file it under someone else
    assert store.get(run_id).owner == ADA
    assert run_id in [run.id for run in ada.list_runs()]
    assert run_id not in [run.id for run in ScopedRunStore(store, Viewer(BOB)).list_runs()]


def test_the_teachers_class_view_sees_everyone_and_their_own_runs_stay_theirs(class_store):
    store, ids = class_store
    teacher = Viewer(TEACHER, teacher=True, whole_class=True)
    scoped = ScopedRunStore(store, teacher)
    assert len(scoped.list_runs()) == 4 and scoped.get(ids["bob"][0]).owner == BOB
    assert store.get(scoped.create_run(RunConfig(name="demo"))).owner == TEACHER
    assert [run.name for run in ScopedRunStore(store, Viewer(TEACHER, teacher=True)).list_runs()] == ["demo"]
    with pytest.raises(ValueError, match="only a teacher"):
        Viewer(ADA, whole_class=True)


def test_sweeps_are_scoped_the_same_way(tmp_path):
    sweeps = SweepStore(tmp_path)
    ada, bob = ScopedSweepStore(sweeps, Viewer(ADA)), ScopedSweepStore(sweeps, Viewer(BOB))
    mine = ada.create(SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 3}}), name="ada's"))
    assert sweeps.get(mine).owner == ADA
    assert [sweep.id for sweep in ada.list()] == [mine] and bob.list() == []
    with pytest.raises(SweepNotFound):
        bob.get(mine)
    with pytest.raises(SweepNotFound):
        bob.request_cancel(mine)
    assert not sweeps.cancel_requested(mine)


def test_settings_read_from_the_environment():
    assert not classroom_settings({}).enabled
    settings = classroom_settings({"METALEARN_CLASSROOM": "1", "METALEARN_TEACHERS": " Teach@School.org ,"})
    assert settings.enabled and settings.is_teacher("teach@school.org") and not settings.is_teacher(ADA)
    with pytest.raises(ValueError, match="METALEARN_CLASSROOM must be 1"):
        classroom_settings({"METALEARN_CLASSROOM": "maybe"})
