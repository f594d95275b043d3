"""`python -m fabric_ci.packaging` (make generate): write every generated file that differs from what the
registry says now. tests/unit/packaging fails while a committed one differs."""

from __future__ import annotations

import sys
from pathlib import Path

from fabric_ci.packaging import azure_devops, github


def generated() -> dict[str, str]:
    """Path relative to the repository root -> content."""
    return {**github.files(), **azure_devops.files()}


def main() -> int:
    root = Path.cwd()
    for path, text in generated().items():
        target = root / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
