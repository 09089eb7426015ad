"""The documentation: its examples run, and it stands on its own."""

import contextlib
import doctest
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sksequence

ROOT = Path(__file__).resolve().parent.parent


def _modules():
    yield "sksequence"
    for info in pkgutil.walk_packages(sksequence.__path__, "sksequence."):
        yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name):
    # what `pytest --doctest-modules sksequence` runs, as part of the test suite
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"


def _user_facing_files():
    yield ROOT / "README.md"
    for folder, pattern in [("docs", "*.rst"), ("docs", "*.py"), ("tests", "*.py")]:
        for path in sorted((ROOT / folder).rglob(pattern)):
            if "_build" not in path.parts and "generated" not in path.parts:
                yield path
    yield from sorted((ROOT / "examples").glob("*.py"))


def test_docs_and_tests_do_not_cite_files_outside_the_repository():
    # The contract users need lives in the user guide; nothing points to notes that
    # only the developers have.
    outside = re.compile(r"\bAPI" r"\.md\b|\.\./shared|/work/" r"shared")
    cited = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _user_facing_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if outside.search(line)
    ]
    assert not cited, f"cite files users do not have: {cited}"


def test_the_user_guide_holds_the_contract():
    guide = (ROOT / "docs" / "user_guide" / "conventions.rst").read_text()
    for name in ["n_features_in_", "history_", "net_", "hidden_size", "random_state"]:
        assert name in guide, name
    readme = (ROOT / "README.md").read_text()
    assert "docs/user_guide/conventions.rst" in readme


# -- every code block in README.md and docs/ runs ---------------------------------------
#
# The rules, for README.md (Markdown) and every .rst file under docs/:
#
# - a code block says its language: a ```python fence or ``.. code-block:: python``
#   runs; any other language (bash, text, ...) is not Python and is not run. A fence
#   without a language, or a bare ``::`` literal block in reST (whose language Sphinx
#   guesses), fails this test: write ``.. code-block:: <language>``.
# - the Python blocks of one file run in order in one namespace (as doctest runs a
#   file), in a temporary working directory, with matplotlib's Agg backend;
# - a comment right before a block can exempt it, with its reason:
#   ``.. docs-test: skip (why)`` / ``<!-- docs-test: skip (why) -->``, or
#   ``.. docs-test: requires <module> (why)``: run only where <module> imports;
# - a ``literalinclude`` of a Python file runs as a script in a subprocess.
#
# Blocks use small data and few epochs, so that all of them run in well under a
# minute on two cores.

_MARKER = re.compile(
    r"^\s*(?:\.\.|<!--)\s*docs-test:\s*(skip|requires)\b\s*(.*?)\s*(?:-->)?\s*$"
)
_DIRECTIVE = re.compile(
    r"^(\s*)\.\.\s+(code-block|code|sourcecode|literalinclude)::\s*(\S*)"
)


class Block:
    def __init__(self, path, line, language, code, marker=None, script=None):
        self.path, self.line, self.language, self.code = path, line, language, code
        self.marker, self.script = marker, script

    @property
    def where(self):
        try:
            name = self.path.relative_to(ROOT)
        except ValueError:
            name = self.path
        return f"{name}:{self.line}"


def _marker(lines, i):
    """The docs-test marker on the nearest non-blank line before line ``i``."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    match = _MARKER.match(lines[j]) if j >= 0 else None
    return (match.group(1), match.group(2)) if match else None


def _markdown_blocks(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```"):
            language = stripped[3:].strip().split(" ")[0]
            indent = len(lines[i]) - len(lines[i].lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            if j == len(lines):
                raise AssertionError(f"{path.name}:{i + 1}: unclosed code fence")
            code = "\n".join(line[indent:] for line in lines[i + 1 : j])
            yield Block(path, i + 1, language, code, _marker(lines, i))
            i = j + 1
        else:
            i += 1


def _rst_blocks(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _DIRECTIVE.match(line)
        if match:
            indent, kind, argument = len(match.group(1)), match.group(2), match.group(3)
            j, options = i + 1, {}
            while j < len(lines) and lines[j].strip().startswith(":"):
                key, _, value = lines[j].strip()[1:].partition(":")
                options[key.strip()] = value.strip()
                j += 1
            body = []
            while j < len(lines) and (
                not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
            ):
                body.append(lines[j])
                j += 1
            marker = _marker(lines, i)
            if kind == "literalinclude":
                target = (path.parent / argument).resolve()
                language = options.get("language", target.suffix.lstrip("."))
                language = "python" if language == "py" else language
                yield Block(
                    path, i + 1, language, target.read_text(), marker, script=target
                )
            else:
                text = "\n".join(body)
                code = textwrap.dedent(text).strip("\n")
                yield Block(path, i + 1, argument, code, marker)
            i = j
            continue
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.lstrip().startswith(".."):
            raise AssertionError(
                f"{Block(path, i + 1, '', '').where}: a bare '::' literal block; write '.. code-block:: "
                "<language>' (python runs in the docs test, other languages do not)"
            )
        if stripped.lstrip().startswith(">>>"):
            raise AssertionError(
                f"{Block(path, i + 1, '', '').where}: a doctest block in reST; write it as a "
                "'.. code-block:: python' block"
            )
        i += 1


def code_blocks(path):
    """Every code block of a README (Markdown) or reST file, with its language."""
    blocks = list(_markdown_blocks(path) if path.suffix == ".md" else _rst_blocks(path))
    for block in blocks:
        if not block.language:
            raise AssertionError(
                f"{block.where}: a code block without a language; say which "
                "(python runs in the docs test, other languages do not)"
            )
        if block.marker and not block.marker[1]:
            raise AssertionError(f"{block.where}: a docs-test marker without a reason")
    return blocks


def run_blocks(blocks, tmp_path):
    """Run the Python blocks in order in one namespace; return (ran, skipped)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__docs__"}
    ran, skipped = [], []
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for block in blocks:
            if block.language != "python":
                continue
            if block.marker:
                kind, reason = block.marker
                if kind == "skip":
                    skipped.append((block.where, reason))
                    continue
                module = reason.split()[0]
                if importlib.util.find_spec(module) is None:
                    skipped.append((block.where, reason))
                    continue
            if block.script is not None:
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                done = subprocess.run(
                    [sys.executable, str(block.script)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert done.returncode == 0, (
                    f"{block.where}: {block.script.name} failed:\n{done.stderr[-3000:]}"
                )
            else:
                code = compile(block.code, block.where, "exec")
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(code, namespace)
                except Exception as exc:
                    raise AssertionError(
                        f"the code block at {block.where} failed: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
            ran.append(block.where)
    finally:
        os.chdir(cwd)
        plt.close("all")
    return ran, skipped


def _doc_files():
    yield ROOT / "README.md"
    for path in sorted((ROOT / "docs").rglob("*.rst")):
        parts = set(path.relative_to(ROOT / "docs").parts)
        if not parts & {"_build", "generated", "auto_examples", "_gallery_src"}:
            yield path
    yield ROOT / "examples" / "GALLERY_HEADER.rst"


DOC_FILES = [p for p in _doc_files() if p.exists()]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(path, tmp_path):
    blocks = code_blocks(path)
    ran, skipped = run_blocks(blocks, tmp_path)
    python = [b for b in blocks if b.language == "python"]
    assert len(ran) + len(skipped) == len(python)


def test_every_python_block_is_found():
    # the extractor misses nothing: each file's python blocks, counted plainly
    for path in DOC_FILES:
        text = path.read_text()
        if path.suffix == ".md":
            expected = len(re.findall(r"^\s*```python\b", text, re.M))
        else:
            expected = len(re.findall(r"^\s*\.\. code-block:: python\b", text, re.M))
            expected += len(
                re.findall(r"^\s*\.\. literalinclude:: \S+\.py\s*$", text, re.M)
            )
        found = [b for b in code_blocks(path) if b.language == "python"]
        assert len(found) == expected, path
    readme = [b for b in code_blocks(ROOT / "README.md") if b.language == "python"]
    assert len(readme) >= 2  # the quick start and the training example


def test_a_broken_block_fails_the_docs_test(tmp_path):
    # the docs test fails when a block breaks, names the block, and runs blocks in
    # order in one namespace
    doc = tmp_path / "page.rst"
    doc.write_text(
        "Title\n=====\n\n.. code-block:: python\n\n    x = 1\n\n"
        ".. code-block:: bash\n\n    exit 1\n\n"
        ".. docs-test: skip (shows a failure)\n\n.. code-block:: python\n\n"
        "    raise RuntimeError\n\n"
        ".. code-block:: python\n\n    assert x == 1\n    1 / 0\n"
    )
    blocks = code_blocks(doc)
    assert [b.language for b in blocks] == ["python", "bash", "python", "python"]
    with pytest.raises(AssertionError, match=r"page.rst:18 failed: ZeroDivisionError"):
        run_blocks(blocks, tmp_path)
    fence = tmp_path / "README.md"
    fence.write_text("Text\n\n```python\nimport numpy as np\nnp.nonexistent()\n```\n")
    with pytest.raises(AssertionError, match=r"README.md:3 failed: AttributeError"):
        run_blocks(code_blocks(fence), tmp_path)


def test_code_blocks_say_their_language(tmp_path):
    bare = tmp_path / "bare.rst"
    bare.write_text("Run this::\n\n    pip install sksequence\n")
    with pytest.raises(AssertionError, match="bare '::' literal block"):
        code_blocks(bare)
    fence = tmp_path / "README.md"
    fence.write_text("```\nprint(1)\n```\n")
    with pytest.raises(AssertionError, match="without a language"):
        code_blocks(fence)
