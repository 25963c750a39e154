"""Labels of the process diagrams in the user's language: processes/labels.<lang>.toml maps a
text as drawn (task name, field label, choice name) to its translation; missing texts stay as drawn."""
from __future__ import annotations

import tomllib
from pathlib import Path


class ProcessLabels:
    def __init__(self, processes_dir: str | Path):
        self.dir = Path(processes_dir)
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    def table(self, lang: str) -> dict[str, str]:
        """The label table of ``lang``, re-read when its file changes (designers edit it live)."""
        path = self.dir / f"labels.{lang}.toml"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {}
        cached = self._cache.get(lang)
        if cached is None or cached[0] != mtime:
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError):
                data = {}
            cached = (mtime, {str(k): str(v) for k, v in data.items() if isinstance(v, str)})
            self._cache[lang] = cached
        return cached[1]

    def get(self, text: str | None, lang: str) -> str:
        if not text:
            return text or ""
        return self.table(lang).get(text, text)
