"""A city as a folder of sheets and GeoJSON: read and check it, import it in one go, export it."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from engine.access.initial import InitialCodes

from engine.city.export import export_city
from engine.city.read import City, CityError, read_city
from engine.city.sheets import BOUNDARY_FILES, Problem, sheet_files
from engine.city.sync import ImportResult, sync_city

_parsed: dict[tuple, City] = {}


def import_city(session: Session, folder: Path, *, grid_code_length: int, processes_dir: Path | None,
                dry_run: bool = False, codes: InitialCodes | None = None,
                shared_password: str | None = None) -> ImportResult:
    """Check the city in FOLDER, then add, update and deactivate to match it (nothing in a dry run);
    new users get initial codes from ``codes`` (or the shared demo password).

    Raises CityError, having written nothing, when any file breaks a rule; the caller commits.
    """
    return sync_city(session, cached_city(folder, grid_code_length, processes_dir), write=not dry_run,
                     codes=codes, shared_password=shared_password)


def cached_city(folder: Path, grid_code_length: int, processes_dir: Path | None) -> City:
    """Read FOLDER once per process while none of its files (nor the decisions) change."""
    # The test suite and the benchmarks load the demo city hundreds of times.
    folder = Path(folder).resolve()
    files = sheet_files(folder) + [folder / n for n in BOUNDARY_FILES.values() if (folder / n).exists()]
    if processes_dir is not None:
        files += sorted(Path(processes_dir).glob("*.dmn"))
    key = (str(folder), grid_code_length, str(processes_dir),
           tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _parsed:
        _parsed[key] = read_city(folder, grid_code_length, processes_dir)
    return _parsed[key]


__all__ = ["City", "CityError", "ImportResult", "Problem", "cached_city", "export_city", "import_city",
           "read_city"]
