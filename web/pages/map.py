"""The map (/map) of a user's units, and the report page's point picker (/places/...)."""
from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request, send_file, url_for
from werkzeug.exceptions import NotFound

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
    return render_template("map.html", data=data, f=f, errors=errors, shade=shade, options=filter_options(session),
                           departments=directory.departments(session), case_url=url_for("pages.case", code="CODE"))


@bp.app_context_processor
def _basemap():
    """What both maps (this page and the report page's picker) draw under the grids."""
    def basemap() -> dict:
        chosen = current_app.extensions["gridflow.basemap"]
        return {"tiles": chosen.tile_url, "attribution": chosen.attribution,
                "pmtiles": url_for("pages.basemap_file") if chosen.pmtiles_file else "",
                "min_zoom": chosen.min_zoom, "max_zoom": chosen.max_zoom}
    return {"basemap": basemap}


@bp.get("/map/basemap.pmtiles")
@login_required()
def basemap_file():
    """The PMTiles basemap (MAP_PMTILES_FILE): the browser's reader asks for byte ranges of it, and
    Flask's send_file answers them (206 with Content-Range; 416 for a range outside the file)."""
    chosen = current_app.extensions["gridflow.basemap"]
    if not chosen.pmtiles_file:
        raise NotFound("no PMTiles basemap is configured")
    try:
        return send_file(chosen.pmtiles_file, mimetype="application/vnd.pmtiles", conditional=True)
    except FileNotFoundError:  # removed since the start (which checked it): no basemap, not an error page
        raise NotFound("the PMTiles basemap file is gone") from None


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
