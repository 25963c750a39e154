"""Open311 GeoReport v2 under /open311/v2: discovery, services, service definitions, requests
and tokens, as .json or .xml. Every error is the spec's list of {code, description}.

Our one extension, the tracking link, is sent only to clients that ask with extensions=true
(the GeoReport v2 extensions habit), inside extended_attributes, so strict clients see the
spec's fields and nothing else."""
from __future__ import annotations

import json
import re
from functools import wraps
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, request, url_for

from engine.public import open311 as o311
from engine.errors import EngineError, Forbidden, InputError, OutsideGrids
from engine.access.links import client_for_key

from web.db import get_session, runtime
from web.errors import http_status
from web.public.i18n import current_lang
from web.ratelimit import rate_limited

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = ("json", "xml")
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]{1,50})\](\[\])?$")
_ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot carry even as references; ElementTree would write them and leave
# the document ill-formed, so a vertical tab typed into an address must not reach it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _fmt() -> str:
    """The format the URL asks for; an unknown path ending in .xml is answered in XML too."""
    fmt = (request.view_args or {}).get("fmt") or request.path.rpartition(".")[2]
    return fmt if fmt in FORMATS else "json"


def _extensions() -> bool:
    return request.values.get("extensions") == "true"


# -- writing JSON and XML ---------------------------------------------------------------------
def _xml_value(parent: ET.Element, tag: str, value) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif isinstance(value, dict):
        for key, item in value.items():
            _xml_value(node, key, item)
    elif isinstance(value, list):
        item_tag = _ITEM_TAGS.get(tag, "item")
        for item in value:
            _xml_value(node, item_tag, item)
    elif value is not None:
        node.text = _NOT_XML.sub(" ", str(value))


def respond(body, *, root: str | None = None, item: str | None = None, status: int = 200) -> Response:
    """Write ``body`` (a list of objects under root/item, or one object as root) in the URL's format."""
    if _fmt() == "xml":
        if isinstance(body, list):
            top = ET.Element(root)
            for obj in body:
                _xml_value(top, item, obj)
        else:
            top = ET.Element(root)
            for key, value in body.items():
                _xml_value(top, key, value)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode")
        return Response(text, status=status, mimetype="text/xml", content_type="text/xml; charset=utf-8")
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def errors(status: int, descriptions: list[str]) -> Response:
    return respond([{"code": status, "description": d} for d in descriptions], root="errors", item="error",
                   status=status)


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    if isinstance(exc, InputError):
        # The spec's 400, except for a well-formed point outside every grid: 422, as on every channel.
        return errors(422 if isinstance(exc, OutsideGrids) else 400,
                      [f"{field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs] or [exc.message])
    status = http_status(exc)
    if status >= 500:
        current_app.logger.error("open311: %s", exc.message)
    return errors(status if status in (403, 404, 409) else 500, [exc.message])


def formats(view):
    @wraps(view)
    def wrapper(*args, fmt: str, **kwargs):
        if fmt not in FORMATS:
            return errors(404, [f"Unknown format {fmt!r}: use .json or .xml."])
        return view(*args, **kwargs)
    return wrapper


def _too_many(seconds: int):
    return errors(429, [f"Too many requests from this address; retry after {seconds} seconds."])


# -- endpoints --------------------------------------------------------------------------------
@bp.get("/discovery.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def discovery():
    base = url_for("open311.unknown", _external=True).rstrip("/")
    return respond(o311.discovery(runtime(), base), root="discovery")


@bp.get("/services.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def list_services():
    return respond(o311.services(get_session(), runtime(), current_lang()), root="services", item="service")


@bp.get("/services/<code>.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def service_definition(code: str):
    return respond(o311.service_definition(get_session(), runtime(), code, current_lang()),
                   root="service_definition")


@bp.post("/requests.<fmt>")
@rate_limited("INTAKE", _too_many)
@formats
def post_request():
    session, rt = get_session(), runtime()
    client = client_for_key(session, rt, request.form.get("api_key", ""))
    if client is None:
        raise Forbidden("api_key is missing, unknown or revoked.")
    attributes: dict[str, list[str]] = {}
    for key in request.form:
        match = _ATTRIBUTE.match(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(request.form.getlist(key))
        elif key.startswith("attribute"):
            raise o311.BadRequest({key: ["Write attributes as attribute[CODE]=value."]})
    receipt = o311.submit(session, rt, client, request.form.to_dict(), attributes, current_lang())
    session.commit()
    secret = receipt.pop("tracking_secret")
    if _extensions() and secret:  # the reporter's private link: add information, rate the result
        receipt["extended_attributes"] = {"tracking_url": url_for(
            "track.reporter_page", code=receipt["service_request_id"], secret=secret, _external=True)}
    return respond([receipt], root="service_requests", item="request", status=201)


@bp.get("/requests.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def list_requests():
    items = o311.find_requests(get_session(), runtime(), request.args.to_dict(), current_lang())
    return respond(_with_public_links(items), root="service_requests", item="request")


@bp.get("/requests/<code>.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def get_request(code: str):
    item = o311.get_request(get_session(), runtime(), code, current_lang())
    return respond(_with_public_links([item]), root="service_requests", item="request")


def _with_public_links(items: list[dict]) -> list[dict]:
    if _extensions():  # the public tracking page, which anyone may open
        for item in items:
            item["extended_attributes"] = {"tracking_url": url_for(
                "track.case_page", code=item["service_request_id"], _external=True)}
    return items


@bp.get("/tokens/<token>.<fmt>")
@rate_limited("TRACKING", _too_many)
@formats
def get_token(token: str):
    return respond([o311.request_for_token(get_session(), token)], root="service_requests", item="request")


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    return errors(404, [f"No Open311 resource {request.method} /open311/v2/{rest}."])
