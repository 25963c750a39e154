"""The map (/map) of a user's units, and the report page's point picker (/places/...)."""
from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request, url_for

from engine.errors import InputError
from engine.lifecycle.cases import reporter_roles
from engine.queries import directory
from engine.queries import map as map_service
from engine.queries import search as search_service

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, filter_options, filtered, now
from web.wording import translated

SHADES = ("overdue", "overdue_rate")


@bp.get("/map")
@login_required(lambda: runtime().policy.map_roles)
def case_map():
    session = get_session()
    rt = runtime()
    moment = now()
    shade = request.args.get("shade") if request.args.get("shade") in SHADES else SHADES[0]
    f, data, errors = filtered(search_service.CaseFilter.parse, search_service.CaseFilter(),
                               lambda f: map_service.case_map(session, rt, g.user, f, now=moment))
    settings = current_app.config
    return render_template("map.html", data=data, f=f, errors=errors, shade=shade, options=filter_options(session),
                           departments=directory.departments(session),
                           tiles={"url": settings.get("MAP_TILE_URL", ""),
                                  "attribution": settings.get("MAP_TILE_ATTRIBUTION", "")},
                           case_url=url_for("pages.case", code="CODE"))


@bp.get("/places/area")
@login_required(lambda: reporter_roles(runtime().policy))
def report_area():
    """The grids the reporter may report in, as GeoJSON, for the report page's map."""
    return jsonify(map_service.report_area(get_session(), g.user, runtime().policy))


@bp.get("/places/at")
@login_required(lambda: reporter_roles(runtime().policy))
def grid_at_point():
    """The grid that covers ?lat=&lng= (&coord_system=wgs84|gcj02), or 422 naming what is wrong."""
    try:
        found = map_service.grid_of_point(get_session(), request.args.get("lat"), request.args.get("lng"),
                                          request.args.get("coord_system"))
    except InputError as exc:
        return jsonify({"errors": {k: [translated(m) for m in v] for k, v in exc.errors.items()}}), 422
    return jsonify(found)
