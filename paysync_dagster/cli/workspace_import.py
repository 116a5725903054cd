"""`paysync workspace import FILE`: many workspaces at once, all or nothing.

Every row is validated before anything is written (a bad row rejects the file, naming its
line); then the configurations are stored in one transaction and their partitions registered
together (one call to the local instance, or a request per 100 to the webserver).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from paysync_dagster.providers.configure import import_config
from paysync_dagster.store.workspaces import WorkspaceConfig, WorkspaceError

MAX_ROWS = 100_000
MAX_FILE_BYTES = 64 * 1024 * 1024


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a CSV file with a header, or of a JSON lines file."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise WorkspaceError(f"line {number}: not JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise WorkspaceError(f"line {number}: expected a JSON object")
                yield number, {key: None if v is None else str(v) for key, v in row.items()}
        else:
            reader = csv.DictReader(handle)
            for row in reader:
                if None in row:
                    raise WorkspaceError(f"line {reader.line_num}: more cells than columns")
                yield reader.line_num, row


def read_import_file(path: Path) -> list[WorkspaceConfig]:
    """Every row of `path` as a validated configuration; the first bad row stops it all."""
    if not path.is_file():
        raise WorkspaceError(f"no such file: {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise WorkspaceError(f"{path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")
    configs: list[WorkspaceConfig] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in _rows(path):
        if len(configs) >= MAX_ROWS:
            raise WorkspaceError(f"more than {MAX_ROWS:,} rows; split the file")
        try:
            config = import_config(row)
        except (WorkspaceError, ValueError) as error:
            raise WorkspaceError(f"line {number}: {error}") from None
        key = (config.workspace_id, config.provider)
        if key in seen:
            raise WorkspaceError(
                f"line {number}: {config.workspace_id} {config.provider} repeats line {seen[key]}"
            )
        seen[key] = number
        configs.append(config)
    if not configs:
        raise WorkspaceError(f"{path} has no rows")
    return configs
