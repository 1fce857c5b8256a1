"""The README's Python examples run as written and print what the README says they print."""

import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example(index):
    code = BLOCKS[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {index}", "exec"), {})
    printed = out.getvalue().splitlines()
    promised = [m.strip() for m in re.findall(r"print\(.*\)\s*# (.*)", code)]
    assert printed == promised


def test_readme_has_examples():
    assert len(BLOCKS) >= 3
