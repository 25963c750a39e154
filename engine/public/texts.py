"""What residents and Open311 clients read: the public file (PUBLIC_FILE, public.toml: the notice
sent with a new request, the extra fields (Open311 attributes) some categories ask for, and what the
Open311 discovery document says about the endpoint) and the stages' plain-word names from the stage
vocabulary (processes/stages.toml). Read once per path and modification time."""
from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from engine.process.policy import Policy, load_policy

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
ENDPOINT_TYPES = ("production", "test")


class PublicFileError(ValueError):
    """The public file has a value of the wrong shape."""


@dataclass(frozen=True)
class Attribute:
    """One extra field of an Open311 service definition."""

    code: str
    datatype: str
    required: bool
    description: dict[str, str]
    values: tuple[tuple[str, dict[str, str]], ...] = ()  # (key, {"zh": name, "en": name})
    order: int = 0

    def value_keys(self) -> set[str]:
        return {key for key, _ in self.values}


@dataclass(frozen=True)
class Discovery:
    """What the Open311 discovery document says about this endpoint."""

    contact: str = ""
    key_service: str = ""
    changeset: str | None = None  # when the endpoint last changed; the file's time if not given
    type: str = "production"


@dataclass(frozen=True)
class PublicText:
    service_notice: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, tuple[Attribute, ...]] = field(default_factory=dict)  # by service code
    discovery: Discovery = field(default_factory=Discovery)
    policy: Policy | None = None  # the stage vocabulary
    sms: dict[str, str] = field(default_factory=dict)  # the text a clerk sends the reporter: {code}, {url}

    def stage(self, code: str | None, lang: str = "zh") -> str:
        """The stage in plain words ("处理中 / In progress" for a stage the vocabulary lacks)."""
        return self.policy.public_stage(code, lang) if self.policy else ""

    def notice(self, lang: str = "zh") -> str:
        return self.service_notice.get(lang) or self.service_notice.get("zh", "")

    def attributes_for(self, service_code: str) -> tuple[Attribute, ...]:
        return self.attributes.get(service_code, ())

    def sms_text(self, code: str, url: str, lang: str = "zh") -> str:
        """The ready-to-send text that gives a reporter their case code and secret link."""
        template = self.sms.get(lang) or self.sms.get("zh", "")
        return template.replace("{code}", code).replace("{url}", url)


_cache: dict[tuple[str, float], PublicText] = {}
_lock = threading.Lock()


def public_text(settings: dict) -> PublicText:
    """Return the parsed public file named by PUBLIC_FILE (an empty one when not set) with the
    processes' stage vocabulary."""
    policy = load_policy(settings["PROCESSES_DIR"]) if settings.get("PROCESSES_DIR") else None
    path = settings.get("PUBLIC_FILE")
    if not path:
        return PublicText(policy=policy)
    key = (path, os.path.getmtime(path), id(policy))
    with _lock:
        if key not in _cache:
            with open(path, "rb") as fh:
                text = parse(tomllib.load(fh), where=path, policy=policy)
            if text.discovery.changeset is None:
                changed = datetime.fromtimestamp(key[1], timezone.utc).isoformat(timespec="seconds")
                text = replace(text, discovery=replace(text.discovery, changeset=changed))
            _cache[key] = text
        return _cache[key]


def parse(raw: dict[str, Any], where: str = "public file", policy: Policy | None = None) -> PublicText:
    if "stages" in raw:
        raise PublicFileError(f"{where}: stages: the stages' public names are in the stage vocabulary "
                              "(processes/stages.toml, `public`), not here")
    o311 = raw.get("open311") or {}
    notice = {"zh": str(o311.get("service_notice", "")), "en": str(o311.get("service_notice_en", ""))}
    by_service: dict[str, list[Attribute]] = {}
    for i, item in enumerate(o311.get("attributes") or []):
        code = item.get("code")
        datatype = item.get("datatype", "string")
        if not isinstance(code, str) or not code.replace("_", "").isalnum():
            raise PublicFileError(f"{where}: open311.attributes[{i}]: code must be letters, digits or _")
        if datatype not in DATATYPES:
            raise PublicFileError(f"{where}: attribute {code}: datatype must be one of {', '.join(DATATYPES)}")
        values = tuple((str(v["key"]), {"zh": str(v.get("name", v["key"])), "en": str(v.get("name_en") or v.get("name", v["key"]))})
                       for v in item.get("values") or [])
        if datatype.endswith("valuelist") and not values:
            raise PublicFileError(f"{where}: attribute {code}: a {datatype} needs values")
        for service in item.get("services") or []:
            existing = by_service.setdefault(str(service), [])
            existing.append(Attribute(code=code, datatype=datatype, required=bool(item.get("required", False)),
                                      description={"zh": str(item.get("description", code)),
                                                   "en": str(item.get("description_en") or item.get("description", code))},
                                      values=values, order=len(existing) + 1))
    sms_raw = raw.get("sms") or {}
    sms = {"zh": str(sms_raw.get("text", "")), "en": str(sms_raw.get("text_en") or sms_raw.get("text", ""))}
    for lang, template in sms.items():
        if template and "{url}" not in template:
            raise PublicFileError(f"{where}: sms.text{'' if lang == 'zh' else '_en'}: must contain {{url}}, "
                                  "the reporter's link")
    return PublicText(service_notice=notice, policy=policy, sms=sms,
                      attributes={k: tuple(v) for k, v in by_service.items()},
                      discovery=_discovery(o311.get("discovery") or {}, where))


def _discovery(raw: dict[str, Any], where: str) -> Discovery:
    changeset = raw.get("changeset")
    if isinstance(changeset, datetime) and changeset.tzinfo is not None:
        changeset = changeset.isoformat(timespec="seconds")
    elif changeset is not None:
        raise PublicFileError(f"{where}: open311.discovery.changeset must be a date and time with a zone, "
                              "e.g. 2026-11-20T09:00:00+08:00 (unquoted)")
    kind = raw.get("type", "production")
    if kind not in ENDPOINT_TYPES:
        raise PublicFileError(f"{where}: open311.discovery.type must be one of {', '.join(ENDPOINT_TYPES)}")
    return Discovery(contact=str(raw.get("contact", "")), key_service=str(raw.get("key_service", "")),
                     changeset=changeset, type=kind)
