"""What a new user meets first: the install, the import, the packaging metadata, the docs.

These tests read the project's own files (setup.cfg, README.md, mkdocs.yml, ...) and run
fresh interpreters; CI (``.ci/run``) additionally builds the sdist and wheel and installs
them in fresh virtual environments.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def _requirements(text: str) -> set[str]:
    """Distribution names of a setup.cfg requirement list, lower-case, without versions."""
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "_tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- import
def test_import_layerkit_loads_no_optional_or_slow_module():
    # A fresh interpreter: this process has long imported everything.
    forbidden = ["scipy.special", "http.client", "urllib.request", "sklearn", "matplotlib"]
    forbidden += ["dask", "onnx", "onnxruntime", "pandas"]
    code = (
        "import json, sys, layerkit; "
        f"print(json.dumps([m for m in {forbidden!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert json.loads(out) == []


def test_sigmoid_still_computes_after_the_lazy_scipy_import():
    import numpy as np

    import layerkit as lk

    z = np.array([-800.0, 0.0, 800.0])
    np.testing.assert_array_equal(lk.get_activation("sigmoid")(z), [0.0, 0.5, 1.0])


# ---------------------------------------------------------------------------- extras
def test_dev_extra_brings_every_package_of_every_other_extra():
    extras = _setup_cfg()["options.extras_require"]
    dev = _requirements(extras["dev"])
    for name, text in extras.items():
        missing = _requirements(text) - dev
        assert not missing, f"extra {name!r} has {sorted(missing)} that [dev] does not install"


def test_dev_extra_brings_the_tools_ci_runs():
    dev = _requirements(_setup_cfg()["options.extras_require"]["dev"])
    tools = {"pytest", "hypothesis", "ruff", "mypy", "build", "twine", "mkdocs", "pre-commit"}
    assert tools <= dev


def test_docs_extra_brings_a_signature_formatter_and_build_time_highlighting():
    docs = _requirements(_setup_cfg()["options.extras_require"]["docs"])
    assert docs & {"ruff", "black"}  # mkdocstrings formats long API signatures with either
    assert {"mkdocs", "mkdocstrings-python", "pymdown-extensions", "pygments"} <= docs


def test_runtime_dependencies_are_numpy_scipy_tqdm_and_the_sweeps_pure_python_pair():
    # joblib and threadpoolctl (scikit-learn's own, pure Python) serve lk.sweep only and are
    # imported when a sweep runs: `import layerkit` loads numpy, scipy and tqdm alone
    install = _requirements(_setup_cfg()["options"]["install_requires"])
    assert install == {"numpy", "scipy", "tqdm", "joblib", "threadpoolctl"}


# ---------------------------------------------------------------------------- licence
def test_license_is_mit_declared_as_an_spdx_expression_and_shipped():
    cfg = _setup_cfg()["metadata"]
    assert cfg["license_expression"].strip() == "MIT"
    assert cfg["license_files"].strip() == "LICENSE"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    # the deprecated classifier must not come back next to the SPDX expression
    assert "License ::" not in cfg["classifiers"]
    assert "LICENSE" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")


def test_package_is_marked_typed():
    assert (ROOT / "layerkit" / "py.typed").is_file()
    assert "py.typed" in _setup_cfg()["options.package_data"]["layerkit"]


def test_classifiers_name_python_versions_audiences_and_status():
    cfg = _setup_cfg()["metadata"]
    classifiers = [c.strip() for c in cfg["classifiers"].splitlines() if c.strip()]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    for audience in ("Education", "Science/Research", "Developers"):
        assert f"Intended Audience :: {audience}" in classifiers
    minimum = re.search(r">=\s*3\.(\d+)", _setup_cfg()["options"]["python_requires"]).group(1)
    assert f"Programming Language :: Python :: 3.{minimum}" in classifiers
    assert {"Documentation", "Source"} <= {
        line.split("=")[0].strip() for line in cfg["project_urls"].splitlines() if "=" in line
    }


# ---------------------------------------------------------------------------- README and CI
def _readme_commands() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci" / "readme_commands.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.readme_commands(ROOT / "README.md")


def test_readme_opens_with_install_and_demo_then_dev_install_and_tests():
    install, tests = _readme_commands()
    assert re.match(r"pip install -e \. && layerkit demo\b", install)
    assert re.match(r'pip install -e "\.\[dev\]" && python -m pytest\b', tests)


def test_ci_runs_readme_commands_in_a_fresh_environment():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv" in ci
    assert "readme_commands.py" in ci
    assert "LAYERKIT_REQUIRE_DATA=1" in ci
    for step in ("twine check", "-m build", "check_offline.py", "check_snippets.py", "mypy"):
        assert step in ci, step


def test_pre_commit_runs_the_linters_ci_runs():
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"id: ruff\b", config) and "ruff check" in ci
    if "ruff format --check" in ci:
        assert "id: ruff-format" in config


def test_changelog_has_an_unreleased_section_and_states_the_version_policy():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[Unreleased\]", text, re.M)
    assert "Semantic Versioning" in text
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for topic in ("pip install -e", "pytest", "register_layer", "benchmarks"):
        assert topic in contributing, topic


# ---------------------------------------------------------------------------- hypothesis
@pytest.mark.parametrize(("ci", "derandomized"), [("true", True), ("", False)])
def test_hypothesis_is_derandomised_exactly_when_ci_is_set(ci, derandomized):
    code = (
        "import sys; sys.path.insert(0, 'tests'); import conftest; "
        "from hypothesis import settings; print(settings.default.derandomize)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    if ci:
        env["CI"] = ci
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    ).stdout
    assert out.strip() == str(derandomized)


# ---------------------------------------------------------------------------- docs offline
def test_offline_check_flags_scripts_and_stylesheets_from_other_hosts(tmp_path):
    check = _load_tool("check_offline")
    (tmp_path / "index.html").write_text(
        '<script src="js/local.js"></script><link rel="stylesheet" href="//cdn.example/x.css">'
        '<script src="https://cdn.example/mathjax.js"></script>'
        '<a href="https://example.org/">a link loads nothing</a>'
    )
    (tmp_path / "site.css").write_text(
        "/* url(https://ignored.example/in-a-comment) */ @font-face { src: url('fonts/a.woff') }"
        " body { background: url(https://img.example/bg.png) }"
    )
    problems = check.external_references(tmp_path)
    assert len(problems) == 3
    assert any("//cdn.example/x.css" in p for p in problems)
    assert any("https://cdn.example/mathjax.js" in p for p in problems)
    assert any("https://img.example/bg.png" in p for p in problems)
    assert check.main([str(tmp_path)]) == 1


def test_offline_check_passes_a_self_contained_site(tmp_path):
    check = _load_tool("check_offline")
    (tmp_path / "index.html").write_text(
        '<script src="javascripts/mathjax/tex-svg.js"></script>'
        '<img src="data:image/png;base64,AAAA"><link rel="stylesheet" href="../css/p.css">'
    )
    assert check.main([str(tmp_path)]) == 0


def test_mkdocs_config_loads_maths_from_the_vendored_copy():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "highlightjs: false" in config
    scripts = re.search(r"^extra_javascript:\n((?:  - .*\n)+)", config, re.M).group(1)
    assert "http" not in scripts
    vendored = ROOT / "docs" / "javascripts" / "mathjax"
    assert (vendored / "tex-svg.js").stat().st_size > 1_000_000
    assert "Apache License" in (vendored / "LICENSE").read_text(encoding="utf-8")
