"""The engine's words in the page's language: error messages (the engine's and marshmallow's, as
engine.errors.Message templates looked up in the catalogue), notification kinds, and the
values of messages a case received, which no form of the diagram describes."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as l_

from engine.errors import Message

from web import present
from web.present import ROLES, SOURCES, STATUSES, label

NOTICE_KINDS = {"notice": l_("Notice"), "warning": l_("Due soon"), "overdue": l_("Overdue"),
                "escalated": l_("Escalated")}

# The fields of the inbox's and the case search's filters, as their forms label them.
FILTER_FIELDS = {"stage": l_("Stage"), "category": l_("Category"), "org": l_("Area"), "flag": l_("Show"),
                 "source": l_("Source"), "assigned": l_("Assigned"), "team": l_("My own tasks"),
                 "q": l_("Search"), "status": l_("Status"), "department": l_("Department"),
                 "created_from": l_("From"), "created_to": l_("To"), "name": l_("Name this filter")}
FILTER_CHOICES = {"status": STATUSES, "source": SOURCES, "flag": {"overdue": l_("Overdue"), "at_risk": l_("At risk")},
                  "assigned": {"me": l_("to me"), "unassigned": l_("to nobody")}}

# What a message event carries ({"message": name, **payload}): the resident's rating and supplement.
MESSAGE_FIELDS = {"satisfaction": l_("Satisfaction"), "comment": l_("Comment"), "text": l_("Supplement")}
SATISFACTION = {"satisfied": l_("Satisfied"), "basically": l_("Basically satisfied"),
                "dissatisfied": l_("Dissatisfied"), "unreachable": l_("Not reached")}


def translated(message, fields=(), about: str | None = None, choices: dict | None = None) -> str:
    """``message`` in the page's language. ``fields`` is the form the message is about, so field
    ids and choice ids in it read as their labels; ``about`` is the field the message belongs to;
    ``choices`` names the choices of a field that is not a form's (a list filter's)."""
    if not isinstance(message, Message):
        return gettext(str(message)) if message else ""
    params = dict(message.params)
    by_id = {f.id: f for f in fields}
    named = by_id.get(params.get("field")) or by_id.get(about)
    if "field" in params and params["field"] in by_id:
        params["field"] = label(by_id[params["field"]].label)
    if named is not None and named.options:
        names = dict(named.options)
        if "choice" in params:
            params["choice"] = label(names.get(str(params["choice"]), str(params["choice"])))
        if "choices" in params:
            params["choices"] = gettext(", ").join(label(name) for name in names.values())
    if choices and "choices" in params:
        params["choices"] = gettext(", ").join(str(name) for name in choices.values())
    if "role" in params:
        params["role"] = str(ROLES.get(params["role"], params["role"]))
    try:
        return gettext(message.template).format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder: say it in English
        return str(message)


def condition(config: str | None, fields) -> dict[str, str]:
    """A ``required_if`` config ("field=choice") as the labels the form shows."""
    other, _sep, value = (config or "").partition("=")
    spec = next((f for f in fields if f.id == other.strip()), None)
    if spec is None:
        return {"field": other.strip(), "choice": value.strip()}
    return {"field": label(spec.label), "choice": label(dict(spec.options).get(value.strip(), value.strip()))}


def event_details(event, node=None, departments: dict | None = None) -> list[tuple[str, str]]:
    """What an event carried as (label, words) pairs; a message's values are named here, since no
    form of the diagram describes them."""
    if event.kind != "message":
        return present.event_details(event, node, departments)
    data = event.data or {}
    return [(str(MESSAGE_FIELDS[k]), str(SATISFACTION.get(str(v), v)) if k == "satisfaction" else str(v))
            if k in MESSAGE_FIELDS else present.field_value(node, k, v, departments)
            for k, v in data.items() if k != "message" and v not in (None, "")]


def filter_errors(errors: dict) -> list[str]:
    """A list filter's errors as sentences naming the fields as the filter form does."""
    colon = gettext(": ")
    return [str(FILTER_FIELDS.get(name, name)) + colon
            + " ".join(translated(m, choices=FILTER_CHOICES.get(name)) for m in messages)
            for name, messages in errors.items()]


def notice_kind(kind: str) -> str:
    return str(NOTICE_KINDS.get(kind, kind))


def stored_message(kept: dict) -> str:
    """A message kept as its template and parameters (a simulation's refused answer), in the page's language."""
    return translated(Message(kept.get("template", ""), **(kept.get("params") or {})))


def template_helpers() -> dict:
    return {"required_when": condition, "notice_kind": notice_kind, "event_details": event_details,
            "filter_errors": filter_errors, "SATISFACTION_NAMES": SATISFACTION, "stored_message": stored_message}
