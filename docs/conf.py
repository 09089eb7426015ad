"""Sphinx configuration for the sksequence documentation.

Build with ``bash scripts/docs.sh`` (warnings are errors). The example gallery is
executed: every ``examples/plot_*.py`` runs during the build with
``SKSEQUENCE_EXAMPLES_QUICK=1`` (small data, few epochs; each example reads the
variable), and its figures and printed output are embedded in its page. Set
``SKSEQUENCE_EXAMPLES_QUICK=0`` to run the examples at full size, or
``SKSEQUENCE_DOCS_RUN_EXAMPLES=0`` to render the gallery without running anything.
"""

import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import sksequence  # noqa: E402

project = "sksequence"
author = "The sksequence developers"
copyright = "the sksequence developers"
release = sksequence.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_gallery_src", "auto_examples/*.ipynb"]
# pydata-sphinx-theme, as scikit-learn, pandas and aeon use: the top bar lists the
# root toctree (installation, user guide, reliability, examples, API reference).
html_theme = "pydata_sphinx_theme"
html_static_path = []
html_title = f"sksequence {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "install": [], "reliability": []}

# -- API reference ------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc docstrings already give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- gallery -------------------------------------------------------------------------
# Which examples run: every examples/plot_*.py (EXECUTED_EXAMPLES, a regular expression
# on the path); other scripts there (demo_elnino.py) are shown without running.
EXECUTED_EXAMPLES = r"/plot_"
# The examples read SKSEQUENCE_EXAMPLES_QUICK: "1" (the default of this build) picks
# small data and few epochs, so that each runs in seconds and the whole gallery in a
# few minutes on 2 cores; "0" runs them at full size.
os.environ.setdefault("SKSEQUENCE_EXAMPLES_QUICK", "1")
RUN_EXAMPLES = os.environ.get("SKSEQUENCE_DOCS_RUN_EXAMPLES", "1") == "1"

_UNDERLINE = re.compile(r"[=\-~^\"'`#*+]{3,}\s*$")
_DOCSTRING = re.compile(r'\A((?:#[^\n]*\n|\s*\n)*)([rRuU]?)("""|\'\'\')\n?([^\n]*)\n')


def _titled(source: str) -> str:
    """The example's source with its docstring's first line underlined as a title.

    The example scripts start with a one-line summary, as Python docstrings do;
    sphinx-gallery needs a reST title, so the gallery reads a copy of each script
    whose first docstring line is underlined (scripts that already have a title are
    copied as they are).
    """
    match = _DOCSTRING.match(source)
    if not match or not match.group(4).strip():
        return source
    rest = source[match.end() :]
    if _UNDERLINE.match(rest.split("\n", 1)[0]):
        return source
    title = match.group(4).strip()
    head = f"{match.group(1)}{match.group(2)}{match.group(3)}{title}\n"
    return f"{head}{'=' * len(title)}\n{rest}"


def _gallery_sources() -> str:
    """Copy ``examples/`` to ``docs/_gallery_src`` with titled docstrings."""
    src, dst = HERE.parent / "examples", HERE / "_gallery_src"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir()
    for path in sorted(src.iterdir()):
        if path.suffix == ".py":
            (dst / path.name).write_text(_titled(path.read_text()))
        elif path.name in ("GALLERY_HEADER.rst", "README.rst", "README.txt"):
            shutil.copy(path, dst / path.name)
    return str(dst)


sphinx_gallery_conf = {
    "examples_dirs": _gallery_sources(),
    "gallery_dirs": "auto_examples",
    "plot_gallery": RUN_EXAMPLES,
    "filename_pattern": EXECUTED_EXAMPLES,
    # a failing example fails the build (the default, said explicitly)
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
}


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (documented in scikit-learn,
    identical for every estimator)."""
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return skip


_ROLE = re.compile(r":(?:ref|term|doc):`([^`]*)`")
_TRAILING_UNDERSCORE = re.compile(
    r"(?<![`\w\\])([A-Za-z]\w*?[A-Za-z0-9])_(?=[\s,.;:)\]]|$)"
)


def _role_text(match) -> str:
    text = match.group(1)
    return text.split("<")[0].strip() if "<" in text else text


def _clean_docstring(app, what, name, obj, options, lines):
    """Make docstrings build without warnings.

    - ``n_components_`` in a shape reads as a reST link target: escape a trailing
      underscore outside literals;
    - methods inherited from scikit-learn link into scikit-learn's own guide
      (``:ref:`metadata_routing```...): keep the link text only.
    """
    from_sklearn = (getattr(obj, "__module__", "") or "").startswith("sklearn")
    block_indent = None  # indentation of the "::" line opening a literal block
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and line.strip() and indent <= block_indent:
            block_indent = None
        if block_indent is not None or line.lstrip().startswith((">>>", "...")):
            continue
        if line.rstrip().endswith("::"):
            block_indent = indent
        parts = line.split("``")
        for j in range(0, len(parts), 2):  # outside ``literals``
            if from_sklearn:
                parts[j] = _ROLE.sub(_role_text, parts[j])
            parts[j] = _TRAILING_UNDERSCORE.sub(r"\1\\_", parts[j])
        lines[i] = "``".join(parts)


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
    # before numpydoc (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", _clean_docstring, priority=400)
