"""The pool as the service stores it: volunteers and placements read from an uploaded
file (a round workbook, a zip of the round's CSV files, or a JSON/YAML round document)
and stored in one transaction, all or nothing.

A file is read and checked in full before anything is written: every error of it comes
back at once (`InvalidRound`, each error naming its sheet, row and column for a
workbook or CSV file, its record and field for a document), and a file with any error
stores nothing. Stored records are the same as the API's uploads store
(`POST /volunteers`, `PUT /placements/{id}`): existing ids are replaced.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.placement_store import placement_data
from volmatch.api.service.queries import ensure_host, existing_volunteer_ids, upsert
from volmatch.api.service.tables import PlacementRow, VolunteerRow, utcnow
from volmatch.models import (
    ErrorItem,
    InvalidRound,
    Placement,
    Round,
    Volunteer,
    parse_text,
)
from volmatch.models.decode import UndecodableText, decode_text

ZIP_MEMBERS_MAX = 20
"""CSV files a zip may hold: a round is a handful of tables, more is not a round."""
ZIP_UNPACKED_MAX = 200_000_000
"""Bytes a zip may unpack to: a bound against archives built to fill the disk."""


def record_data(record: BaseModel) -> dict[str, Any]:
    """A volunteer's or placement's stored JSON: its fields without the defaults."""
    return record.model_dump(mode="json", exclude_defaults=True)


def _bad_file(name: str, message: str) -> InvalidRound:
    return InvalidRound([ErrorItem("file", name, "", message)])


def _read_zip(name: str, data: bytes) -> Round:
    from volmatch.api.sheets import read_csv_folder

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _bad_file(name, "cannot read it as a zip file") from None
    members = [
        m
        for m in archive.infolist()
        if not m.is_dir()
        and m.filename.lower().endswith(".csv")
        and not PurePosixPath(m.filename).name.startswith(".")
    ]
    if not members:
        raise _bad_file(name, "the zip holds no .csv file")
    if len(members) > ZIP_MEMBERS_MAX or sum(m.file_size for m in members) > ZIP_UNPACKED_MAX:
        raise _bad_file(
            name,
            f"the zip holds too much: at most {ZIP_MEMBERS_MAX} CSV files "
            f"of {ZIP_UNPACKED_MAX // 1_000_000} MB in all",
        )
    with tempfile.TemporaryDirectory(prefix="volmatch-pool-") as tmp:
        seen: set[str] = set()
        for m in members:
            # the file's own name only: a member's folders never reach the disk
            base = PurePosixPath(m.filename).name
            if base.lower() in seen:
                raise _bad_file(name, f"two files in the zip are named {base!r}")
            seen.add(base.lower())
            (Path(tmp) / base).write_bytes(_unpacked(name, archive, m))
        return read_csv_folder(tmp)


def _unpacked(name: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes; a damaged, encrypted or oddly packed member is an error naming
    it (zipfile raises a different exception for each)."""
    what = repr(member.filename)
    if member.flag_bits & 0x1:
        raise _bad_file(name, f"{what} in the zip is encrypted: zip it without a password")
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error):
        raise _bad_file(
            name, f"cannot unpack {what}: the zip is damaged or packed in an unusual way"
        ) from None


def read_pool(filename: str, data: bytes) -> Round:
    """The round in an uploaded file, by its name's ending: `.xlsx`, `.zip` (of CSV
    files), `.json`, `.yaml`/`.yml`. Raises `InvalidRound` with every error found."""
    name = PurePosixPath(filename or "upload").name
    suffix = PurePosixPath(name).suffix.lower()
    if not data:
        raise _bad_file(name, "the file is empty")
    if suffix == ".xlsx":
        from volmatch.api.sheets import read_workbook_bytes

        return read_workbook_bytes(data)
    if suffix == ".zip":
        return _read_zip(name, data)
    if suffix in (".json", ".yaml", ".yml"):
        # Read as `volmatch validate` reads a file: the same encodings, nesting and YAML
        # alias bounds, the same errors.
        try:
            text = decode_text(data)
        except UndecodableText as exc:
            raise _bad_file(name, f"cannot read it: {exc}") from None
        fmt = "json" if suffix == ".json" else "yaml"
        return parse_text(text, fmt=fmt, source=name, unique_keys=True)
    raise _bad_file(
        name, "send a workbook (.xlsx), a zip of CSV files, or a JSON or YAML round document"
    )


@dataclass(frozen=True)
class PoolStored:
    """Which ids an upload created and which it replaced."""

    volunteers_created: list[str]
    volunteers_updated: list[str]
    placements_created: list[str]
    placements_updated: list[str]


def store_volunteers(
    session: Session, volunteers: tuple[Volunteer, ...] | list[Volunteer]
) -> tuple[list[str], list[str]]:
    """Create or replace these volunteers; the ids created and the ids replaced."""
    ids = [v.id for v in volunteers]
    existing = existing_volunteer_ids(session, ids)
    now = utcnow()
    upsert(
        session,
        VolunteerRow.__table__,
        [{"id": v.id, "data": record_data(v), "updated_at": now} for v in volunteers],
        ["data", "updated_at"],
    )
    return [i for i in ids if i not in existing], [i for i in ids if i in existing]


def store_placements(
    session: Session, placements: tuple[Placement, ...] | list[Placement]
) -> tuple[list[str], list[str]]:
    """Create or replace these placements (registering new hosts); the ids created and
    the ids replaced."""
    ids = [p.id for p in placements]
    existing: set[str] = set()
    for k in range(0, len(ids), 500):
        existing.update(
            session.scalars(select(PlacementRow.id).where(PlacementRow.id.in_(ids[k : k + 500])))
        )
    for host in sorted({p.host for p in placements}):
        ensure_host(session, host)
    now = utcnow()
    upsert(
        session,
        PlacementRow.__table__,
        [
            {"id": p.id, "host_id": p.host, "data": placement_data(p), "updated_at": now}
            for p in placements
        ],
        ["host_id", "data", "updated_at"],
    )
    return [i for i in ids if i not in existing], [i for i in ids if i in existing]


def store_pool(session: Session, r: Round) -> PoolStored:
    """Store a checked round's volunteers and placements (its policy and previous
    assignments are not part of the pool and are left out)."""
    vc, vu = store_volunteers(session, r.volunteers)
    pc, pu = store_placements(session, r.placements)
    return PoolStored(vc, vu, pc, pu)
