"""The city import from a page or the API: the sheets and GeoJSON uploaded one by one or as a zip,
checked by the same importer as `gridflow city import`, a dry run's diff, then the import itself,
recorded in the change log."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from engine.access.initial import InitialCodes
from engine.admin.changes import record_change
from engine.admin.scope import admin_scope
from engine.city import CityError, ImportResult, read_city
from engine.city.sync import sync_city
from engine.city.sheets import BOUNDARY_FILES, SHEETS
from engine.errors import InputError, Message
from engine.runtime import Runtime

# The names a city folder may hold; anything else in an upload is refused by name.
CITY_FILES = tuple(f"{s}.{ext}" for s in SHEETS for ext in ("csv", "xlsx")) + tuple(BOUNDARY_FILES.values())
MAX_FILE_BYTES = 50 * 1024 * 1024


def city_files_from_upload(uploads: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """The city's files by name from uploaded files: each a sheet or GeoJSON, or a zip of them
    (at its top or in one folder). InputError names a file that is neither."""
    files: dict[str, bytes] = {}
    errors: list[str] = []
    for name, data in uploads:
        base = PurePosixPath(name.replace("\\", "/")).name
        if base.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for info in archive.infolist():
                        inner = PurePosixPath(info.filename).name
                        if info.is_dir() or inner.startswith(".") or "__MACOSX" in info.filename:
                            continue
                        if inner not in CITY_FILES:
                            errors.append(Message("{name} in {zip} is not a file of a city folder", name=inner,
                                                  zip=base))
                        elif info.file_size > MAX_FILE_BYTES:
                            errors.append(Message("{name} is larger than {mb} MB", name=inner, mb=50))
                        else:
                            files[inner] = archive.read(info)
            except zipfile.BadZipFile:
                errors.append(Message("{name} is not a zip file", name=base))
        elif base in CITY_FILES:
            files[base] = data
        else:
            errors.append(Message("{name} is not a file of a city folder ({files})", name=base,
                                  files=", ".join(CITY_FILES)))
    if not files and not errors:
        errors.append(Message("Choose the city's files, or a zip of them."))
    if errors:
        raise InputError({"files": errors})
    return files


def pack_city_files(files: dict[str, bytes]) -> bytes:
    """The files as one zip, for a page to send back when the administrator applies a dry run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def import_uploaded_city(session: Session, rt: Runtime, actor, uploads: list[tuple[str, bytes]], *,
                         dry_run: bool) -> tuple[ImportResult, dict[str, bytes]]:
    """Check the uploaded city and make the database match it (nothing in a dry run); return what
    changed (new users' initial passwords included) and the city's files as read from the upload.
    CityError lists every problem, having written nothing."""
    admin_scope(session, rt, actor).require_top()
    files = city_files_from_upload(uploads)
    with tempfile.TemporaryDirectory(prefix="gridflow-city-") as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        # Read directly, not through the importer's per-folder cache: each upload is a new folder.
        city = read_city(Path(folder), int(rt.settings["GRID_CODE_LENGTH"]), Path(rt.settings["PROCESSES_DIR"]))
    result = sync_city(session, city, write=not dry_run, codes=InitialCodes.from_settings(rt.settings, rt.clock()))
    if not dry_run and result.changes:
        rt.role_cache.clear()
        record_change(session, rt, actor, "import", "city", "city", "", None,
                      {"changes": result.changes, "files": sorted(files)})
        session.flush()
    return result, files


def problem_fields(problems) -> dict[str, list[str]]:
    """A refused city's problems as field errors: each located by file, row and column."""
    errors: dict[str, list[str]] = {}
    for p in problems:
        where = str(p)[: -len(p.rule) - 2]
        errors.setdefault(where, []).append(p.rule)
    return errors


__all__ = ["CityError", "city_files_from_upload", "import_uploaded_city", "pack_city_files", "problem_fields"]
