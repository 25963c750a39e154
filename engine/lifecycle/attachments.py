"""Photo attachments: checked by content (not by the name or the client's type), stored on disk
under the instance folder by their SHA-256, with a JPEG thumbnail; the database keeps the record."""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Attachment, Case, Task, User

from engine.errors import InputError, Message, NotFound
from engine.runtime import Runtime
from engine.lifecycle.chain import append_event

# Content types we accept, by what Pillow finds in the bytes.
IMAGE_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
THUMBNAIL_SIZE = (320, 320)
MAX_PIXELS = 25_000_000  # when ATTACHMENT_MAX_PIXELS is not set


@dataclass
class StoredFile:
    path: Path
    content_type: str
    filename: str


def attachments_dir(rt: Runtime) -> Path:
    return Path(rt.settings.get("ATTACHMENTS_DIR") or Path(rt.settings["INSTANCE_DIR"]) / "attachments")


def add_attachment(session: Session, rt: Runtime, user: User | None, case: Case, filename: str, data: bytes,
                   task: Task | None = None, field: str = "photo") -> Attachment:
    """Check and store one photo for a case the caller has already found visible to ``user``
    (None: the reporter, through their tracking link; the photo keeps the case's stage).

    Errors name ``field``. Nothing is written to the database when the file is refused; a file
    written to disk before a failed commit is harmless (same content, same name next time).
    """
    limit = int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    per_case = int(rt.settings.get("ATTACHMENTS_PER_CASE", 50))
    name = _clean_name(filename)
    if not data:
        raise InputError({field: [Message("The file is empty.")]})
    if len(data) > limit:
        raise InputError({field: [Message("The file is {size:.1f} MB; the limit is {limit:.0f} MB.", size=len(data) / 1048576,
                                                limit=limit / 1048576)]})
    digest = hashlib.sha256(data).hexdigest()
    # The same photo sent again for the same task (a form re-submitted after an error) is the
    # one already stored, not a second attachment.
    same = session.scalars(select(Attachment).where(
        Attachment.case_id == case.id, Attachment.sha256 == digest,
        Attachment.task_id.is_(None) if task is None else Attachment.task_id == task.id)).first()
    if same is not None:
        return same
    count = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case.id))
    if count >= per_case:
        raise InputError({field: [Message("A case holds at most {n} attachments.", n=per_case)]})
    max_pixels = int(rt.settings.get("ATTACHMENT_MAX_PIXELS") or MAX_PIXELS)
    kind, thumbnail = _inspect_image(data, field, max_pixels)
    content_type, ext = IMAGE_TYPES[kind]
    rel = Path(digest[:2]) / f"{digest}{ext}"
    thumb_rel = Path("thumbs") / digest[:2] / f"{digest}.jpg"
    root = attachments_dir(rt)
    _write_once(root / rel, data)
    _write_once(root / thumb_rel, thumbnail)
    now = rt.clock()
    attachment = Attachment(case_id=case.id, task_id=task.id if task else None,
                            uploaded_by_id=user.id if user else None,
                            stage=case.stage if user is None else None, filename=name, content_type=content_type, size=len(data), sha256=digest,
                            path=str(rel), thumbnail_path=str(thumb_rel), created_at=now)
    session.add(attachment)
    session.flush()
    append_event(session, case.id, at=now, actor_id=user.id if user else None, kind="attachment_added",
                 task_bpmn_id=task.bpmn_id if task else None, task_name=task.name if task else None,
                 from_stage=case.stage, to_stage=case.stage,
                 data={"attachment_id": attachment.id, "filename": name})
    return attachment


def list_attachments(session: Session, case: Case) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))


def attachment_file(session: Session, rt: Runtime, case: Case, attachment_id: int, *, thumbnail: bool = False) -> StoredFile:
    """Return the file of one attachment of ``case`` (a case the caller may see)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound(f"attachment {attachment_id} does not exist")
    rel = attachment.thumbnail_path if thumbnail and attachment.thumbnail_path else attachment.path
    path = attachments_dir(rt) / rel
    if not path.is_file():
        raise NotFound(f"the file of attachment {attachment_id} is missing on disk")
    content_type = "image/jpeg" if thumbnail and attachment.thumbnail_path else attachment.content_type
    return StoredFile(path, content_type, attachment.filename)


def _clean_name(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\x00")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = ""
    return (name or "photo")[:200]


def _inspect_image(data: bytes, field: str, max_pixels: int = MAX_PIXELS) -> tuple[str, bytes]:
    """Return the image format and a JPEG thumbnail, or raise InputError naming ``field``.

    Image.open reads only the header, so the size is checked before any pixel is decoded.
    """
    allowed = ", ".join(t for t, _ in IMAGE_TYPES.values())
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in IMAGE_TYPES:
                raise InputError({field: [Message("Only photos can be attached ({allowed}); this file is {kind}.", allowed=allowed,
                                                    kind=kind or "unknown")]})
            if image.width * image.height > max_pixels:
                raise InputError({field: [Message("The photo is too large ({width}×{height} pixels; at most {limit:g} million).",
                                                  width=image.width, height=image.height, limit=max_pixels / 1e6)]})
            if kind == "JPEG":  # decode at a fraction of the size: the thumbnail is all we keep
                image.draft("RGB", THUMBNAIL_SIZE)
            image.load()
            thumb = image.convert("RGB")
            thumb.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=80)
            return kind, out.getvalue()
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise InputError({field: [Message("Not a readable photo; attach a {allowed} file.", allowed=allowed)]}) from None


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # readers never see a half-written file
