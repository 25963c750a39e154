"""/api/v1 reference data: categories, org units, departments, process versions and their files."""
from __future__ import annotations

from flask import Response

from engine.queries import directory

from web.api.core import bp, operation
from web.api.schemas.reference import (CategoryListSchema, DepartmentListSchema, OrgUnitArgs, OrgUnitListSchema,
                                       OrgUnitSchema, ProcessVersionDetailSchema, ProcessVersionListSchema)
from web.db import get_session


@bp.get("/categories")
@operation("The category catalogue (大类/小类)", tag="reference", response=CategoryListSchema,
           description="Every category with its 大类; report a case with a 小类 `code` that is `active`.")
def list_categories():
    return {"items": directory.categories(get_session())}


@bp.get("/org-units")
@operation("The org tree: district, streets, communities, grids", tag="reference", query=OrgUnitArgs,
           response=OrgUnitListSchema, errors=(404,), description="Public facts only (codes, names, centre point), "
           "in tree order. `parent` limits the list to one unit's children (404 when it does not exist).")
def list_org_units(args):
    return {"items": directory.org_units(get_session(), level=args.get("level"), parent=args.get("parent"))}


@bp.get("/org-units/<code>")
@operation("One org unit", tag="reference", response=OrgUnitSchema, errors=(404,))
def get_org_unit(code: str):
    return directory.org_unit(get_session(), code)


@bp.get("/departments")
@operation("Departments that handle cases", tag="reference", response=DepartmentListSchema)
def list_departments():
    return {"items": directory.departments(get_session())}


@bp.get("/processes")
@operation("Deployed process versions", tag="reference", response=ProcessVersionListSchema,
           description="Every version of every process, newest first; a case runs on the version it started on.")
def list_process_versions():
    return {"items": directory.process_versions(get_session())}


@bp.get("/processes/<key>/<int:version>")
@operation("One process version and its files", tag="reference", response=ProcessVersionDetailSchema,
           errors=(404,))
def get_process_version(key: str, version: int):
    return directory.process_version(get_session(), key, version)


@bp.get("/processes/<key>/<int:version>/files/<path:name>")
@operation("A file of a process version", tag="reference", media=("application/xml", "application/toml"),
           errors=(404,), description="A BPMN or DMN diagram (XML, for a diagram viewer), a policy file "
           "(TOML: stages, notices, policy, assessment) or a scenario file (`scenarios/…toml`) as deployed.")
def get_process_file(key: str, version: int, name: str):
    mimetype = "application/toml" if name.endswith(".toml") else "application/xml"
    return Response(directory.process_file(get_session(), key, version, name), mimetype=mimetype)
