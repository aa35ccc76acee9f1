"""The package's layout: one package per side, and imports that flow one way between them."""
import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pyclowder_jobs"

#: Which of the package's own subpackages each side may import.
ALLOWED = {
    "protocol": {"protocol"},
    "server": {"protocol", "server"},
    "extractor": {"protocol", "extractor"},
    "testing": {"protocol", "testing"},
    "tools": {"protocol", "server", "tools", "testing", "store"},
}


def _imports(path):
    """The absolute names a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                names.append(".".join(base + ([node.module] if node.module else [])))
            else:
                names.append(node.module)
    return names


def _modules(side):
    return sorted((PACKAGE / side).rglob("*.py"))


def test_at_most_eight_modules_stay_at_the_top_level():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))

    assert len(top) <= 8, top


@pytest.mark.parametrize("side", sorted(ALLOWED))
def test_each_side_imports_only_the_sides_below_it(side):
    wrong = []
    for path in _modules(side):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "pyclowder_jobs" and len(parts) > 1 and parts[1] not in ALLOWED[side]:
                wrong.append("%s imports %s" % (path.relative_to(PACKAGE), name))

    assert wrong == []


@pytest.mark.parametrize("side", ["protocol", "server"])
def test_the_protocol_and_the_server_fold_import_the_standard_library_only(side):
    outside = []
    for path in _modules(side):
        for name in _imports(path):
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("pyclowder_jobs", "__future__"):
                outside.append("%s imports %s" % (path.relative_to(PACKAGE), name))

    assert outside == []


def test_the_code_cites_only_documents_inside_the_repository():
    citing = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
              if "DESIGN" in path.read_text(encoding="utf-8")]

    assert citing == []


def test_every_cited_doc_exists():
    docs = PACKAGE.parent / "docs"
    missing = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for piece in text.split("docs/")[1:]:
            name = piece.split("``")[0].split(")")[0].split(",")[0].split()[0].rstrip(".:;")
            if name.endswith(".rst") and not (docs / name).exists():
                missing.add(name)

    assert missing == set()
