"""Console logging for the commands and the server: plain lines, or one JSON object per line
(LOG_FORMAT = "json") for a log collector. gunicorn's access lines become JSON objects with the
request's fields, not a formatted string."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that are too talkative at INFO: APScheduler logs every run of the once-a-second
# sweep, and SpiffWorkflow every task's change of state (~60 lines per swept case: writing them
# cost a worker more than firing the timers, and a full pipe stalls it); keep their warnings.
NOISY = ("apscheduler", "spiff")
LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and for
    gunicorn's access log the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name}
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            atoms = record.args
            entry.update(remote=atoms.get("h"), method=atoms.get("m"), path=atoms.get("U"),
                         query=atoms.get("q") or None, status=_int(atoms.get("s")),
                         bytes=_int(atoms.get("B")), duration_ms=round((_int(atoms.get("D")) or 0) / 1000, 3),
                         agent=atoms.get("a"))
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def log_format(settings: Mapping) -> str:
    chosen = str(settings.get("LOG_FORMAT") or "text")
    if chosen not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT: {chosen!r} is not one of {', '.join(LOG_FORMATS)}")
    return chosen


def configure(settings: Mapping) -> None:
    """Log INFO and up to the console in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format(settings) == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def gunicorn_logconfig(settings: Mapping) -> dict | None:
    """gunicorn's logconfig_dict for JSON lines (None: gunicorn's own plain format)."""
    if log_format(settings) != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": "cli.logs.JsonFormatter"}},
            "handlers": {"console": handler},
            "root": {"level": "INFO", "handlers": ["console"]},
            "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
                        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False}}}
