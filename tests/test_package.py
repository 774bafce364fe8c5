"""The package's front door: the public API, --help for every command, a fast start."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lstmprep


@pytest.mark.parametrize("name", lstmprep.__all__)
def test_every_public_name_resolves(name):
    assert getattr(lstmprep, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        lstmprep.no_such_thing  # noqa: B018


@pytest.mark.parametrize("command", ["inspect", "pad", "window", "train"])
def test_every_command_has_help_with_an_example(run, command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example: lstmprep " + command in result.stdout


def test_help_imports_neither_numpy_nor_tensorflow():
    code = (
        "import sys; from lstmprep.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_inspect_does_not_import_tensorflow(tmp_path):
    (tmp_path / "d.json").write_text("[[[1, 2]], [[3, 4], [5, 6]]]")
    code = (
        "import sys; from lstmprep.cli import app\n"
        f"try:\n    app(['inspect', {str(tmp_path / 'd.json')!r}, '--json'])\n"
        "except SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "lstmprep", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == f"lstmprep {lstmprep.__version__}"


def test_scheduler_without_the_dask_extra_says_how_to_install_it(tmp_path):
    (tmp_path / "d.jsonl").write_text("[[1], [2]]\n[[3]]\n")
    code = (
        "import sys; sys.modules['distributed'] = None  # as if not installed\n"
        "from lstmprep.cli import app\n"
        f"app(['pad', {str(tmp_path / 'd.jsonl')!r}, '-o', {str(tmp_path / 'o.zarr')!r}, "
        "'--scheduler', 'local:1'])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert "pip install 'lstmprep[dask]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.zarr").exists()
