"""The house's import contracts (pyproject.toml, [tool.importlinter]) hold on the tree, and each one fails
when a module breaks it: the project is copied, one deliberate bad import is added, and import-linter (the
command `make lint` runs) must refuse it, naming the contract."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
PACKAGES = ("fusion_site", "webhooks", "accounts", "ontraport_client")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(BASE_DIR / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE_DIR / "pyproject.toml", tree / "pyproject.toml")
    return tree


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(pristine, copy)
    return copy


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("accounts/house_breaker.py", "import fusion_site.settings", "fusion_site wires the apps"),
        ("webhooks/house_breaker.py", "from fusion_site import urls", "fusion_site wires the apps"),
        ("webhooks/telemetry/house_breaker.py", "import fusion_site.settings", "fusion_site wires the apps"),
        ("accounts/house_breaker.py", "from webhooks.models import Delivery", "fusion_site wires the apps"),
        ("ontraport_client/house_breaker.py", "import accounts.models", "fusion_site wires the apps"),
        (
            "webhooks/services/house_breaker.py",
            "import webhooks.console.views",
            "Nothing in webhooks imports",
        ),
        (
            "webhooks/adoption/house_breaker.py",
            "import webhooks.console.views",
            "Nothing in webhooks imports",
        ),
        ("webhooks/services/house_breaker.py", "import webhooks.adoption.runs", "Only the console imports"),
        ("webhooks/telemetry/house_breaker.py", "import webhooks.models", "telemetry imports none"),
        ("webhooks/telemetry/house_breaker.py", "import accounts.signals", "telemetry imports none"),
        ("ontraport_client/house_breaker.py", "import django.conf", "ontraport_client imports no Django"),
    ],
)
def test_a_bad_import_breaks_its_contract(tree: Path, module: str, source: str, contract: str) -> None:
    (tree / module).write_text(source + "\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_a_circle_between_two_modules_breaks_the_no_circles_contract(tree: Path) -> None:
    (tree / "accounts" / "circle_a.py").write_text("import accounts.circle_b\n")
    (tree / "accounts" / "circle_b.py").write_text("import accounts.circle_a\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in accounts" in result.stdout
