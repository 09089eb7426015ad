"""The documentation: its examples run, and it stands on its own."""

import doctest
import importlib
import pkgutil
import re
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
