"""Write one large blob slowly so that test_blobstore.py can kill -9 this process at chosen points.

Prints `writing` once the first chunk is on its way to disk, `renaming` just before the final rename (only with
--pause-before-rename, which then waits to be killed), and `done <sha256>` at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance.blobstore import BlobStore


def content_chunks(count: int, size: int) -> Iterator[bytes]:
    """The deterministic content the child writes; the test regenerates it to know the expected sha256."""
    for index in range(count):
        yield hashlib.sha256(index.to_bytes(8, 'big')).digest() * (size // 32)


def _slowly(chunks: Iterator[bytes], delay: float) -> Iterator[bytes]:
    for index, chunk in enumerate(chunks):
        yield chunk
        if index == 0:
            print('writing', flush=True)
        time.sleep(delay)


def _pause_before_rename() -> None:
    # The store publishes with os.replace; stopping there leaves a complete, fsynced temp file to be killed over.
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        print('renaming', flush=True)
        time.sleep(60)
        real_replace(src, dst)

    os.replace = replace  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    """Parse the arguments and write the blob."""
    parser = argparse.ArgumentParser()
    parser.add_argument('root', type=Path)
    parser.add_argument('--chunks', type=int, default=40)
    parser.add_argument('--chunk-size', type=int, default=256 * 1024)
    parser.add_argument('--delay', type=float, default=0.01)
    parser.add_argument('--pause-before-rename', action='store_true')
    args = parser.parse_args(argv)
    if args.pause_before_rename:
        _pause_before_rename()
    sha256, _ = BlobStore(args.root).write_stream(_slowly(content_chunks(args.chunks, args.chunk_size), args.delay))
    print('done', sha256, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
