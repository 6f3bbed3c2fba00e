"""`make bench`: files in and out at disk speed (issue 13), each beside a plain server doing the least it can.

    python -m tests.bench.bench_files [--mib 256] [--runs 3]

Two servers run side by side on this machine: the app (`python -m appliance.main`, one process) and a baseline, a
bare Starlette app under uvicorn that streams a PUT body to a file while hashing it (sha256) and fsyncs it, and
answers a GET with Starlette's `FileResponse`. The same bytes go through both:
- upload: PUT /api/v1/tasks/{id}/attachments (raw body) vs the baseline's PUT (target >= 0.8x its speed);
- download: GET /api/v1/attachments/{id} vs the baseline's GET (target >= 0.9x), and both again with
  `Accept-Encoding: gzip`, which must change nothing (a file is never compressed on the way).
Printed as MB/s, medians of `--runs`; compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.bench.bench_tasks import prepare, sign_in

CHUNK = 1024 * 1024
BASELINE = textwrap.dedent(
    """
    import hashlib, os, sys
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route
    import uvicorn

    ROOT = sys.argv[2]

    async def put(request):
        digest = hashlib.sha256()
        path = os.path.join(ROOT, 'upload.bin')
        with open(path, 'wb') as f:
            async for chunk in request.stream():
                digest.update(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        return JSONResponse({'sha256': digest.hexdigest()}, status_code=201)

    async def get(request):
        return FileResponse(os.path.join(ROOT, 'upload.bin'), media_type='application/octet-stream')

    app = Starlette(routes=[Route('/file', put, methods=['PUT']), Route('/file', get, methods=['GET'])])
    uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')
    """
)


def _body(size: int) -> Iterator[bytes]:
    block = os.urandom(CHUNK)  # incompressible, like the photos and archives people upload
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def _rate(size: int, fn: Callable[[], None], runs: int) -> float:
    """Median MB/s of `fn` moving `size` bytes."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append(size / (time.perf_counter() - began) / 1e6)
    return statistics.median(samples)


def _download(client: httpx.Client, url: str, size: int, headers: dict[str, str]) -> None:
    got = 0
    with client.stream('GET', url, headers=headers) as response:
        assert response.status_code == 200, response.status_code
        assert 'content-encoding' not in response.headers, 'a file was compressed on its way out'
        for chunk in response.iter_raw(CHUNK):
            got += len(chunk)
    assert got == size, (got, size)


def _start_baseline(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.livesrv import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, '-c', BASELINE, str(port), str(root)])
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + '/missing', trust_env=False)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError('the baseline server did not start')


def run(data_dir: Path, work: Path, size: int, runs: int) -> list[tuple[str, float, float, str]]:
    """(figure, app MB/s, baseline MB/s, target) for upload, download and download with gzip asked for."""
    from tests.livesrv import server_database, start_server

    seeded = prepare(data_dir, 200, 2, 50)
    server = start_server(data_dir, timeout=60)
    baseline, base_url = _start_baseline(work)
    try:
        with server_database(data_dir):
            _cookie, token = sign_in(server.url, seeded.reader_username)
        task_id = _first_task(data_dir, seeded.big_project_id)
        auth = {'authorization': f'Bearer {token}'}
        with httpx.Client(trust_env=False, timeout=300) as client:
            created: list[int] = []

            def app_put() -> None:
                url = f'{server.url}/api/v1/tasks/{task_id}/attachments?filename=big.bin'
                response = client.put(url, content=_body(size), headers={**auth, 'content-type': 'application/zip'})
                assert response.status_code == 201, response.text
                created.append(response.json()['id'])

            def base_put() -> None:
                response = client.put(base_url + '/file', content=_body(size))
                assert response.status_code == 201, response.text

            rows = [('upload (raw PUT, sha256, fsync)', _rate(size, app_put, runs), _rate(size, base_put, runs))]
            app_get = f'{server.url}/api/v1/attachments/{created[-1]}'
            for label, headers in (('download', {}), ('download, Accept-Encoding: gzip', {'accept-encoding': 'gzip'})):
                app_rate = _rate(size, lambda h=headers: _download(client, app_get, size, {**auth, **h}), runs)
                base_rate = _rate(size, lambda h=headers: _download(client, base_url + '/file', size, h), runs)
                rows.append((label, app_rate, base_rate))
    finally:
        baseline.kill()
        server.stop()
    targets = ['>= 0.8x', '>= 0.9x', '>= 0.9x']
    return [(name, app, base, target) for (name, app, base), target in zip(rows, targets, strict=True)]


def _first_task(data_dir: Path, project_id: int) -> int:
    import sqlite3

    conn = sqlite3.connect(data_dir / 'enclave.db')
    try:
        return int(conn.execute('SELECT min(id) FROM tasks_tasks WHERE project_id = ?', (project_id,)).fetchone()[0])
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--mib', type=int, default=256)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix='enclave-bench-files-'))
    data_dir = work / 'data'
    data_dir.mkdir()
    try:
        rows = run(data_dir, work, args.mib * 1024 * 1024, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f'{"figure (" + str(args.mib) + " MiB)":40} {"app":>10} {"baseline":>10} {"ratio":>7}  target')
    for name, app, base, target in rows:
        print(f'{name:40} {app:6.0f} MB/s {base:6.0f} MB/s {app / base:7.2f}  {target}')
    print()


if __name__ == '__main__':
    main()
