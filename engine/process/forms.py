"""Turn a user task's camunda:formData into a marshmallow schema and validate submissions."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from engine.errors import Message
from engine.spiff import FormField

# marshmallow's own texts, as Messages so the pages can translate them.
FIELD_MESSAGES = {
    "required": Message("Missing data for required field."),
    "null": Message("Field may not be null."),
    "validator_failed": Message("Invalid value."),
    "invalid_utf8": Message("Must be valid Unicode text (no lone surrogates)."),
    "too_large": Message("Number too large."),
    "format": Message("Not a valid date."),
}
INVALID = {"long": Message("Not a valid integer."), "boolean": Message("Not a valid boolean."),
           "date": Message("Not a valid date."), "string": Message("Not a valid string."),
           "enum": Message("Not a valid string.")}

class SafeString(fields.String):
    """A string that databases and JSON encoders can store: no NUL, no lone surrogates."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError(Message("Must not contain NUL characters."))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(Message("Must be valid Unicode text (no lone surrogates).")) from None
        return text


class WholeNumber(fields.Integer):
    """An integer that also accepts "12" from HTML forms, but never silently truncates 1.9."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(Message("Must be a whole number."))
        number = super()._deserialize(value, attr, data, **kwargs)
        if abs(number) > 2 ** 53:
            raise ValidationError(Message("Number too large."))
        return number


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(Message("Must not be blank."))


_TYPES = {
    "string": lambda **kw: SafeString(**kw),
    "long": lambda **kw: WholeNumber(**kw),
    "boolean": lambda **kw: fields.Boolean(**kw),
    "date": lambda **kw: fields.Date(**kw),
    "enum": lambda **kw: SafeString(**kw),
}
# `department`: the value must be the code of an existing department (checked by the engine).
KNOWN_CONSTRAINTS = {"required", "minlength", "maxlength", "min", "max", "readonly", "required_if", "department"}


class FormDefinitionError(ValueError):
    """A formData field uses a type or constraint the engine does not understand."""


def _number(config, field_id, name):
    try:
        value = float(config)
    except (TypeError, ValueError):
        raise FormDefinitionError(f"field {field_id}: constraint {name} needs a number, got {config!r}") from None
    return int(value) if value.is_integer() else value


def _bounds(low, high, at_least: Message, at_most: Message, between: Message) -> Message:
    """The text of a length or range check, naming only the bounds the form sets."""
    return between if low is not None and high is not None else at_least if low is not None else at_most


def required_if(config: str | None, field_id: str) -> tuple[str, str]:
    """Split a required_if config 'field=value' into (field, value)."""
    if not config or "=" not in config:
        raise FormDefinitionError(f"field {field_id}: required_if needs config 'field=value'")
    other, value = config.split("=", 1)
    return other.strip(), value.strip()


def _field(spec: FormField):
    if spec.type not in _TYPES:
        raise FormDefinitionError(f"field {spec.id}: unknown type {spec.type!r}")
    constraints = dict(spec.constraints)
    unknown = set(constraints) - KNOWN_CONSTRAINTS
    if unknown:
        raise FormDefinitionError(f"field {spec.id}: unknown constraint(s) {sorted(unknown)}")
    validators = []
    if spec.type == "enum":
        choices = [o[0] for o in spec.options]
        validators.append(validate.OneOf(choices, error=Message("Must be one of: {choices}.")))
    if "minlength" in constraints or "maxlength" in constraints:
        low = _number(constraints.get("minlength"), spec.id, "minlength") if "minlength" in constraints else None
        high = _number(constraints.get("maxlength"), spec.id, "maxlength") if "maxlength" in constraints else None
        validators.append(validate.Length(min=low, max=high, error=_bounds(
            low, high, Message("At least {min} characters."), Message("At most {max} characters."),
            Message("Between {min} and {max} characters."))))
    if "min" in constraints or "max" in constraints:
        low = _number(constraints.get("min"), spec.id, "min") if "min" in constraints else None
        high = _number(constraints.get("max"), spec.id, "max") if "max" in constraints else None
        validators.append(validate.Range(min=low, max=high, error=_bounds(
            low, high, Message("Must be at least {min}."), Message("Must be at most {max}."),
            Message("Must be between {min} and {max}."))))
    required = "required" in constraints
    if required and spec.type in ("string", "enum"):
        validators.append(not_blank)
    if "required_if" in constraints:
        required_if(constraints["required_if"], spec.id)
    kwargs: dict[str, Any] = {"required": required, "allow_none": not required, "validate": validators,
                              "error_messages": {**FIELD_MESSAGES, "invalid": INVALID[spec.type]}}
    if spec.type == "long":
        kwargs["strict"] = False
    return _TYPES[spec.type](**kwargs)


@lru_cache(maxsize=512)
def form_schema(form: tuple[FormField, ...]) -> Schema:
    """Return a schema instance for a form; cached per form definition."""
    conditions = [(f.id, *required_if(dict(f.constraints)["required_if"], f.id))
                  for f in form if "required_if" in dict(f.constraints)]
    attrs: dict[str, Any] = {f.id: _field(f) for f in form}

    def _check_conditions(self, data, original_data, **kwargs):
        # Read the submitted values: a field that failed its own checks is absent from data.
        errors = {}
        for field_id, other, value in conditions:
            given = original_data.get(field_id)
            if str(original_data.get(other)) == value and (given is None or str(given).strip() == ""):
                errors[field_id] = [Message("Required when {field} is '{choice}'.", field=other, choice=value)]
        if errors:
            raise ValidationError(errors)

    attrs["check_conditions"] = validates_schema(pass_original=True, skip_on_field_errors=False)(_check_conditions)
    attrs["Meta"] = type("Meta", (), {"unknown": RAISE})
    attrs["error_messages"] = {"unknown": Message("Unknown field."), "type": Message("Invalid input type.")}
    return type("TaskForm", (Schema,), attrs)()


def validate_submission(form: tuple[FormField, ...], payload: Any) -> dict[str, Any]:
    """Validate a submission; return every form field (None where not given) or raise ValidationError."""
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": [Message("Form data must be an object.")]})
    data = form_schema(form).load(payload)
    out = {f.id: None for f in form}
    out.update(data)
    for key, value in out.items():
        if hasattr(value, "isoformat"):
            out[key] = value.isoformat()
    return out


def prefill(form: tuple[FormField, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Return initial values: only what the designer declared (a field's ``prefill`` property names
    the case variable to offer), else the field's default; never another round's answers."""
    values = {}
    for f in form:
        source = dict(f.properties).get("prefill")
        value = data.get(source) if source else None
        values[f.id] = value if value not in (None, "") else f.default
    return values


@dataclass(frozen=True)
class Fact:
    """One case fact a task shows beside its form (the task's ``show`` property)."""

    variable: str
    label: str
    value: Any


def shown_facts(show: str | None, data: dict[str, Any]) -> list[Fact]:
    """Return the facts ``show`` lists ("var:label, var.key:label"), leaving out those not set.

    A dotted name reads a key of a dict variable, e.g. ``rating.comment``.
    """
    facts = []
    for item in (show or "").split(","):
        variable, _, label = item.strip().partition(":")
        variable = variable.strip()
        if not variable:
            continue
        head, *keys = variable.split(".")
        value: Any = data.get(head)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value not in (None, "", [], {}):
            facts.append(Fact(variable, label.strip() or variable, value))
    return facts


__all__ = ["Fact", "shown_facts", "FormDefinitionError", "ValidationError", "form_schema", "validate_submission", "prefill", "EXCLUDE"]
