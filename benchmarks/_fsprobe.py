"""CPU per file created: ``python -m benchmarks._fsprobe [--files N] [DIR ...]``.

For each ``DIR`` (default: the benchmarks' scratch root and the system's temporary
directory), creates ``N`` 76-byte files (the size of B6's inputs) in a fresh
subdirectory and prints the CPU (user + system) per file.  A healthy filesystem takes
15-25 us here; ext4 without a journal takes 10-30 times that where thousands of files
were deleted in the last minutes (``benchmarks/README.md``, "Where the files go").  The
subdirectories are removed once every directory has been measured.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ._common import SLOW_FILE_CREATION_US, file_creation_us, scratch_root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._fsprobe", description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=3000, help="files created per directory (default 3000)")
    parser.add_argument("dirs", nargs="*", type=Path, help="directories to measure in")
    args = parser.parse_args(argv)
    directories = args.dirs or [scratch_root(), Path(tempfile.gettempdir())]
    made = []
    try:
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)
            probe = Path(tempfile.mkdtemp(prefix="fsprobe-", dir=directory))
            made.append(probe)
            us = file_creation_us(probe, args.files)
            verdict = f"SLOW (over {SLOW_FILE_CREATION_US:.0f} us)" if us > SLOW_FILE_CREATION_US else "ok"
            print(f"{directory}: {us:.1f} us of CPU per file created ({args.files} files), {verdict}", flush=True)
    finally:
        for probe in made:
            shutil.rmtree(probe, ignore_errors=True)


if __name__ == "__main__":
    main()
