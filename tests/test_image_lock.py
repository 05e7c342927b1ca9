"""The production image is reproducible: what the Dockerfile installs is requirements.lock.

Why: the Dockerfile used to install pyproject.toml's ranges, so two builds of one commit could
ship different libraries, and its `# syntax=` line pulled a frontend image from a registry at
build time. These static checks keep the lock complete and in use; `make deploy-test` goes
further and compares the built image's `pip freeze` with the lock.
"""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from service.config import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"


def _pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from the lock's `name==version \\ --hash=...` entries."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        found = re.match(r"([A-Za-z0-9_.\[\],-]+)==(\S+)", entry)
        if found:
            name = canonicalize_name(found.group(1).split("[")[0])
            pins[name] = (found.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
    return pins


def test_every_dependency_is_pinned_with_hashes_and_satisfies_pyproject() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    pins = _pins()
    wanted = [Requirement(r) for r in project["project"]["dependencies"]]
    wanted += [Requirement(r) for r in project["build-system"]["requires"]]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{name}=={version} in the lock, pyproject.toml wants {requirement}: `make lock`"
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not unhashed


def test_the_dockerfile_installs_the_lock_and_pulls_no_frontend() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "# syntax=" not in dockerfile  # that line pulls docker/dockerfile from a registry
    assert "COPY requirements.lock" in dockerfile
    assert re.search(r"pip install --require-hashes --no-deps -r requirements\.lock", dockerfile)
    # The project itself adds nothing: no resolution, no build-time download.
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    assert not re.search(r"pip install (?!--)", dockerfile)


def test_compose_images_are_pinned() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if image.startswith("newsroom:"):
            continue  # built here
        assert re.search(r":[^:/]*\d", image), f"{name}: {image} is not pinned to a version"
