"""The documentation site (mkdocs.yml, docs/) builds with warnings as errors: every page, link,
included repository file and API reference entry resolves. Pages that repeat the README's
tested examples repeat them exactly."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="the docs extra (mkdocs, mkdocstrings[python]) is not installed")
def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (site / "api" / "models" / "index.html").read_text(encoding="utf-8")
    assert 'id="fastdense.models.Model.fit"' in reference  # the API reference comes from the docstrings
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "createData" in tutorial  # the example script is included, not copied


def test_the_custom_components_page_shows_the_tested_readme_example():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(ROOT, "docs", "custom-components.md"), encoding="utf-8") as f:
        page = f.read()
    readme_section = readme[readme.index("## Custom components"):readme.index("## Threads")]
    assert _python_blocks(page)[0] == _python_blocks(readme_section)[0]


def test_the_getting_started_example_runs(tmp_path, monkeypatch):
    with open(os.path.join(ROOT, "docs", "index.md"), encoding="utf-8") as f:
        blocks = _python_blocks(f.read())
    example = next(block for block in blocks if "model.fit" in block)
    monkeypatch.chdir(tmp_path)  # it saves model.keras in the working directory
    exec(compile(example, "docs/index.md", "exec"), {"__name__": "docs_example"})
    assert (tmp_path / "model.keras").is_file()
