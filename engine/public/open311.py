"""Open311 GeoReport v2 on the case engine: services from the category catalogue, requests
become cases through the same intake as every channel, and cases read back as requests.

Returns plain dicts in the spec's field names; the web layer writes them as JSON or XML.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Case, Category, OrgUnit, Open311Client, Open311Request

from engine.city.coords import COORD_SYSTEMS, to_wgs84
from engine.city.places import place_point
from engine.lifecycle import cases as case_service
from engine.errors import InputError, NotFound
from engine.public.exposure import Known, exposure, is_public, prefetch, public_only
from engine.process.policy import Policy
from engine.public.texts import Attribute, PublicText, public_text
from engine.runtime import Runtime
from engine.public.tracking import describe

MAX_REQUESTS = 1000
DEFAULT_SPAN = timedelta(days=90)
_SERVICE_CODE = re.compile(r"^[A-Z]\d{4}$")
_CASE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class BadRequest(InputError):
    """Bad input to Open311, which the spec answers with a list of {code, description}."""


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest({field: [message]}, f"{field}: {message}")


def _lang_pick(labels: dict[str, str], lang: str) -> str:
    return labels.get(lang) or labels.get("zh", "")


# -- discovery -------------------------------------------------------------------------------
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("text/xml", "application/json")


def discovery(rt: Runtime, base_url: str) -> dict[str, Any]:
    """Describe this endpoint as the spec's discovery document (contact and type from PUBLIC_FILE)."""
    about = public_text(rt.settings).discovery
    return {"changeset": about.changeset, "contact": about.contact, "key_service": about.key_service,
            "endpoints": [{"specification": SPECIFICATION, "url": base_url, "changeset": about.changeset,
                           "type": about.type, "formats": list(FORMATS)}]}


# -- services --------------------------------------------------------------------------------
def services(session: Session, rt: Runtime, lang: str = "zh") -> list[dict[str, Any]]:
    text = public_text(rt.settings)
    rows = session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))
    out = []
    for c in rows:
        en = lang == "en"
        out.append({
            "service_code": c.code,
            "service_name": (c.name_en or c.name) if en else c.name,
            "description": f"{c.major_name_en or c.major_name} / {c.name_en or c.name}" if en
            else f"{c.major_name} / {c.name}" + ("（紧急，24小时处置）" if c.emergency else ""),
            "metadata": bool(text.attributes_for(c.code)),
            "type": "realtime",
            "keywords": ", ".join(k for k in (c.name, c.name_en, c.major_name, c.major_name_en) if k),
            "group": (c.major_name_en or c.major_name) if en else c.major_name,
        })
    return out


def service_definition(session: Session, rt: Runtime, code: str, lang: str = "zh") -> dict[str, Any]:
    category = _category(session, code)
    return {"service_code": category.code,
            "attributes": [_attribute(a, lang) for a in public_text(rt.settings).attributes_for(category.code)]}


def _attribute(a: Attribute, lang: str) -> dict[str, Any]:
    return {"variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
            "datatype_description": None, "order": a.order, "description": _lang_pick(a.description, lang),
            "values": [{"key": key, "name": _lang_pick(names, lang)} for key, names in a.values]}


def _category(session: Session, code: Any) -> Category:
    if code in (None, ""):
        raise _bad("service_code", "Required: the code of a service from GET services.")
    category = session.scalars(select(Category).where(Category.code == code)).first() \
        if isinstance(code, str) and _SERVICE_CODE.match(code) else None
    if category is None or not category.active:
        raise NotFound(f"service_code {code!r} is not a known service")
    return category


# -- POST requests ---------------------------------------------------------------------------
def submit(session: Session, rt: Runtime, client: Open311Client, form: dict[str, Any],
           attributes: dict[str, list[str]], lang: str = "zh") -> dict[str, Any]:
    """Create a case from an Open311 request; return the receipt (id, notice, secret)."""
    category = _category(session, form.get("service_code"))
    lat, lng = _coordinates(form)
    grid = None
    if lat is not None:
        # Outside every grid is OutsideGrids (the page answers 422), the other problems 400.
        grid = session.scalars(select(OrgUnit).where(OrgUnit.code == place_point(session, lat, lng))).one()
    address = _text(form, "address_string", 255)
    address_id = _text(form, "address_id", 32)
    if grid is None and address_id:
        grid = session.scalars(select(OrgUnit).where(OrgUnit.code == address_id, OrgUnit.level == "grid",
                                                         OrgUnit.active.is_(True))).first()
        if grid is None:
            raise _bad("address_id", "Not a grid code of this city (address_id is the unit-grid code).")
    if grid is None and address:
        grid = grid_for_address(session, address)
        if grid is None:
            raise _bad("address_string", "No grid matches this address; send lat and long.")
    if grid is None:
        raise _bad("location", "Give lat and long, address_string or address_id.")
    answers = _check_attributes(public_text(rt.settings).attributes_for(category.code), attributes, lang)
    description = _text(form, "description", 4000)
    media_url = _text(form, "media_url", 1000)
    if media_url and not re.match(r"^https?://", media_url):
        raise _bad("media_url", "Must be an http(s) URL.")
    email = _text(form, "email", 254)
    if email and not re.match(r"^[^@\s]+@[^@\s]+$", email):
        raise _bad("email", "Not an e-mail address.")
    phone = _text(form, "phone", 32)
    if phone and not re.match(r"^[0-9+\- ]+$", phone):
        raise _bad("phone", "Use digits, spaces, + or -.")
    name = " ".join(p for p in (_text(form, "last_name", 32), _text(form, "first_name", 32)) if p)
    if answers:  # the clerk sees the answers with the report
        description += ("\n" if description else "") + "；".join(f"{label}：{value}" for label, value in answers)
    try:
        case = case_service.report_case(session, rt, None, {
            "category_code": category.code, "grid_code": grid.code, "address": address or grid.name,
            "lat": lat, "lng": lng, "description": description, "source": "open311",
            "reporter_name": name, "reporter_phone": phone})
    except InputError as exc:
        raise BadRequest(exc.errors, exc.message) from None
    # Intake is synchronous, so the receipt answers service_request_id and no token (the spec
    # wants one or the other). A token is still stored: receipts issued before carried it,
    # and GET tokens keeps answering those.
    token = "t" + secrets.token_hex(12)
    session.add(Open311Request(case_id=case.id, client_id=client.id, token=token, media_url=media_url,
                               email=email, device_id=_text(form, "device_id", 100),
                               account_id=_text(form, "account_id", 100),
                               attributes={k: v for k, v in attributes.items()}, created_at=rt.clock()))
    session.flush()
    return {"service_request_id": case.code,
            "service_notice": public_text(rt.settings).notice(lang),
            "account_id": _text(form, "account_id", 100) or None,
            "tracking_secret": case.tracking_secret}


def _text(form: dict, key: str, max_len: int) -> str:
    value = form.get(key)
    if value is None:
        return ""
    value = str(value).strip()
    if len(value) > max_len:
        raise _bad(key, f"At most {max_len} characters.")
    if "\x00" in value:
        raise _bad(key, "Contains a NUL character.")
    return value


def _coordinates(form: dict) -> tuple[float | None, float | None]:
    """The request's point as WGS-84; ``coord_system=gcj02`` (an extension) marks a GCJ-02 point."""
    raw_lat, raw_lng = form.get("lat"), form.get("long")
    system = form.get("coord_system") or "wgs84"
    if system not in COORD_SYSTEMS:
        raise _bad("coord_system", f"Must be one of: {', '.join(COORD_SYSTEMS)}.")
    if raw_lat in (None, "") and raw_lng in (None, ""):
        return None, None
    try:
        lat, lng = float(raw_lat), float(raw_lng)
    except (TypeError, ValueError):
        raise _bad("lat", "lat and long must both be decimal degrees.") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise _bad("lat", "lat must be within ±90 and long within ±180.")
    return to_wgs84(lat, lng, system)


def _check_attributes(defined: tuple[Attribute, ...], given: dict[str, list[str]], lang: str) -> list[tuple[str, str]]:
    known = {a.code: a for a in defined}
    for code in given:
        if code not in known:
            raise _bad(f"attribute[{code}]", "This service has no such attribute.")
    answers = []
    for a in defined:
        values = [v for v in given.get(a.code, []) if v != ""]
        if not values:
            if a.required:
                raise _bad(f"attribute[{a.code}]", "Required for this service.")
            continue
        if a.datatype == "singlevaluelist" and len(values) > 1:
            raise _bad(f"attribute[{a.code}]", "Give one value.")
        if a.datatype.endswith("valuelist") and not set(values) <= a.value_keys():
            raise _bad(f"attribute[{a.code}]", f"Must be one of: {', '.join(sorted(a.value_keys()))}.")
        if a.datatype == "number":
            try:
                float(values[0])
            except ValueError:
                raise _bad(f"attribute[{a.code}]", "Must be a number.") from None
        if a.datatype == "datetime":
            _parse_datetime(f"attribute[{a.code}]", values[0])
        if any(len(v) > 500 for v in values):
            raise _bad(f"attribute[{a.code}]", "At most 500 characters.")
        names = dict(a.values)
        shown = [_lang_pick(names[v], "zh") if v in names else v for v in values]
        answers.append((a.description.get("zh", a.code), "、".join(shown)))
    return answers


def grid_for_address(session: Session, address: str) -> OrgUnit | None:
    """The grid an address names: a grid's own name, else the first grid of the community
    whose name (without 社区/村) the address contains."""
    units = session.scalars(select(OrgUnit).where(OrgUnit.level.in_(("grid", "community")),
                                                  OrgUnit.active.is_(True))
                            .order_by(OrgUnit.code)).all()
    for grid in (u for u in units if u.level == "grid"):
        if grid.name and grid.name in address:
            return grid
    for community in (u for u in units if u.level == "community"):
        stem = re.sub(r"(社区|居委会|村)$", "", community.name)
        if len(stem) >= 2 and stem in address:
            return next((u for u in units if u.level == "grid" and u.parent_id == community.id), None)
    return None


# -- GET requests ----------------------------------------------------------------------------
def find_requests(session: Session, rt: Runtime, args: dict[str, str], lang: str = "zh") -> list[dict[str, Any]]:
    """Search cases as service requests with the spec's filters and defaults (90 days, 1000)."""
    ids = [i.strip() for i in (args.get("service_request_id") or "").split(",") if i.strip()]
    query = public_only(select(Case), exposure(rt.settings))
    if ids:  # the spec: other filters are ignored when ids are given
        if len(ids) > MAX_REQUESTS or not all(_CASE_CODE.match(i) for i in ids):
            raise _bad("service_request_id", "A comma-separated list of request ids.")
        query = query.where(Case.code.in_(ids))
    else:
        codes = [c.strip() for c in (args.get("service_code") or "").split(",") if c.strip()]
        if codes:
            if not all(_SERVICE_CODE.match(c) for c in codes):
                raise _bad("service_code", "A comma-separated list of service codes such as E0102.")
            query = query.join(Category, Category.id == Case.category_id).where(Category.code.in_(codes))
        end = _parse_datetime("end_date", args["end_date"]) if args.get("end_date") else None
        start = _parse_datetime("start_date", args["start_date"]) if args.get("start_date") else None
        if start and end and start > end:
            raise _bad("start_date", "Must not be after end_date.")
        if start is None:
            start = (end or rt.clock()) - DEFAULT_SPAN
        query = query.where(Case.created_at >= start)
        if end is not None:
            query = query.where(Case.created_at <= end)
        statuses = {s.strip() for s in (args.get("status") or "").split(",") if s.strip()}
        if not statuses <= {"open", "closed"}:
            raise _bad("status", "Must be open, closed or both (comma-separated).")
        if statuses == {"open"}:
            query = query.where(Case.status == "open")
        elif statuses == {"closed"}:
            query = query.where(Case.status != "open")
    # Categories and grids are few: one query each (selectin), not a copy joined to every row.
    cases = session.scalars(query.options(selectinload(Case.category), selectinload(Case.grid))
                            .order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)).all()
    # Everything the requests show beyond the cases is read once for the whole list: a constant
    # number of queries however many requests match.
    known = prefetch(session, cases, exposure(rt.settings))
    media = dict(session.execute(select(Open311Request.case_id, Open311Request.media_url)
                                 .where(Open311Request.case_id.in_([c.id for c in cases]))).all()) if cases else {}
    text, policy = public_text(rt.settings), rt.policy  # once for the list: each reads files' times
    return [as_request(session, rt, c, lang, known=known, media=media.get(c.id, ""), text=text, policy=policy)
            for c in cases]


def get_request(session: Session, rt: Runtime, code: str, lang: str = "zh") -> dict[str, Any]:
    case = session.scalars(select(Case).where(Case.code == code)).first() if _CASE_CODE.match(code or "") else None
    if case is None or not is_public(case, exposure(rt.settings)):  # internal cases do not exist here
        raise NotFound(f"service_request_id {code!r} does not exist")
    return as_request(session, rt, case, lang)


def request_for_token(session: Session, token: str) -> dict[str, Any]:
    row = session.scalars(select(Open311Request).where(Open311Request.token == token)).first() \
        if re.match(r"^[A-Za-z0-9]{1,40}$", token or "") else None
    if row is None:
        raise NotFound(f"token {token!r} does not exist")
    code = session.scalar(select(Case.code).where(Case.id == row.case_id))
    return {"service_request_id": code, "token": token}


def as_request(session: Session, rt: Runtime, case: Case, lang: str = "zh", *, known: Known | None = None,
               media: str | None = None, text: PublicText | None = None, policy: Policy | None = None) -> dict[str, Any]:
    """A case in the spec's request fields as the public may see it: no reporter data; the
    reporter's words only with PUBLIC_SHOW_DESCRIPTION, else the service's own description.
    A list passes what it read for all its cases at once (``known``, ``media``, ``text``, ``policy``)."""
    view = describe(session, rt, case, with_timeline=False, known=known, policy=policy)
    text = text or public_text(rt.settings)
    if media is None:
        media = session.scalar(select(Open311Request.media_url).where(Open311Request.case_id == case.id))
    tz = rt.calendar.tz
    when = lambda dt: dt.astimezone(tz).isoformat(timespec="seconds") if dt else None
    return {
        "service_request_id": case.code,
        "status": "open" if case.status == "open" else "closed",
        "status_notes": text.stage(case.stage, lang),
        "service_name": _lang_pick(view.category, lang),
        "service_code": view.category_code,
        "description": view.description or f"{_lang_pick(view.major, lang)} / {_lang_pick(view.category, lang)}",
        "agency_responsible": _lang_pick(view.agency, lang),
        "service_notice": "",
        "requested_datetime": when(case.created_at),
        "updated_datetime": when(case.updated_at),
        # The handling deadline once dispatch has set it; before that the next deadline the
        # centre has committed to (at intake: acceptance within the SLA's accept_hours).
        "expected_datetime": when(view.expected_at or view.next_due_at),
        "address": view.address,
        "address_id": view.location_code,
        "zipcode": "",
        "lat": view.lat,
        "long": view.lng,
        "media_url": media or "",
    }


def _parse_datetime(field: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise _bad(field, "Must be an ISO 8601 date and time with a time zone, e.g. 2026-11-25T10:00:00+08:00.") from None
    if moment.tzinfo is None:
        raise _bad(field, "Give a time zone (Z or ±HH:MM).")
    return moment
