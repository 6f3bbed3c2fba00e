"""Attachments on a full data disk (a real 8 MiB filesystem): an upload answers 507 in the error shape with a
sentence, and deleting an attachment still works, so people can free space through the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from appliance import diskspace
from appliance.blobstore import get_blobstore
from appliance.db import get_database
from tests.appliance.small_disk import fill, small_disk_fixture  # noqa: F401 - fixture
from tests.appliance.support import (  # noqa: F401 - fixtures
    api_fixture,
    app_client_fixture,
    bearer,
    error_of,
)
from tests.conftest import make_token
from tests.modules.conftest import Team, make_project, make_task

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture
def dave(small_disk: Path, team: Team) -> Iterator[dict[str, str]]:
    yield bearer(make_token(team.dave))


def test_a_full_disk_refuses_uploads_with_507_and_still_deletes(
    small_disk: Path, api: TestClient, team: Team, dave: dict[str, str]
) -> None:
    task = make_task(project=make_project(members={team.dave.id: 'manager'}))
    assert diskspace.create_reserve(small_disk)
    first = api.put(f'/api/v1/tasks/{task.id}/attachments?filename=plan.pdf', content=b'p' * 200_000, headers=dave)
    assert first.status_code == 201, first.text
    fill(small_disk)

    refused = api.put(f'/api/v1/tasks/{task.id}/attachments?filename=more.pdf', content=b'm' * 1000, headers=dave)
    error = error_of(refused, 507)
    assert error['code'] == 'disk_full'
    assert error['message'].startswith('The data disk is full, so this was not saved.')

    diskspace.run_reserve_job()  # every minute: releases the reserve on a full disk
    assert api.delete(first.json()['url'], headers=dave).status_code == 204
    report = get_blobstore().collect(get_database(), grace_seconds=0)
    assert (report.blobs_removed, report.blob_bytes_freed) == (1, 200_000)
