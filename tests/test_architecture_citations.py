"""Every `docs/architecture.md, "X"` citation in the repository names a real heading of that document.

Docstrings send readers to the design document by section; a renamed heading ("Runtime" became "Runtime and
bench") left five of them pointing nowhere. The record formats the document names are the ones the code writes.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CITATION = re.compile(r'architecture\.md,?\s*"([^"]+)"')
SOURCES = ("vireid", "export", "runtime", "tests", "benchmarks", "tools", "docs", "README.md")


def headings() -> set[str]:
    lines = ARCHITECTURE.read_text(encoding="utf-8").splitlines()
    return {line.lstrip("#").strip() for line in lines if line.startswith("#")}


def citations() -> list[tuple[str, str]]:
    """(file, cited heading) for every citation in the repository's code and documents."""
    found = []
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.md"), *path.rglob("*.sh")]
        for file in files:
            if "results" in file.relative_to(ROOT).parts or file == Path(__file__).resolve():
                continue
            for match in CITATION.finditer(file.read_text(encoding="utf-8")):
                found.append((str(file.relative_to(ROOT)), match.group(1)))
    return found


def test_every_citation_names_a_heading() -> None:
    found = citations()
    assert len(found) > 30, "the citation pattern still matches the code's docstrings"
    known = headings()
    dangling = sorted({(file, heading) for file, heading in found if heading not in known})
    assert not dangling, f"citations of headings docs/architecture.md does not have: {dangling}"


def test_the_document_names_the_record_formats_the_code_writes() -> None:
    from vireid_runtime.bench_result import FORMAT as BENCH_FORMAT
    from vireid_runtime.manifest import FORMAT as MANIFEST_FORMAT

    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert f"`{MANIFEST_FORMAT}`" in text and f"`{BENCH_FORMAT}`" in text
