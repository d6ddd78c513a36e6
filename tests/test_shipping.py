"""What ships beyond the wheel: an image pinned by digest installing a hash-locked set of dependencies, and a
compose file running two replicas on one PostgreSQL."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def locked() -> dict[str, str]:
    """name -> version for every `name==version` line of requirements.lock, each followed by its hashes."""
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    pins: dict[str, str] = {}
    for entry in entries:
        head = entry.split()[0]
        assert "==" in head and "--hash=sha256:" in entry, f"not pinned with hashes: {head}"
        name, version = head.split(";")[0].split("==")
        pins[canonicalize_name(name.split("[")[0])] = version
    return pins


def test_base_image_is_pinned_by_digest() -> None:
    """Every stage starts from python:3.11-slim named by its digest, not a tag that moves."""
    text = dockerfile()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.M))
    images = [args.get(ref.strip("${}"), ref) for ref in re.findall(r"^FROM (\S+)", text, flags=re.M)]
    assert len(images) >= 2
    for image in images:
        assert image.startswith("python:3.11-slim@") and DIGEST.search(image), image


def test_data_volume_holds_the_default_database() -> None:
    """VOLUME /data is declared and the image's DATABASE_URL is a SQLite file inside it."""
    text = dockerfile()
    assert re.search(r"^VOLUME /data$", text, flags=re.M)
    assert "DATABASE_URL=sqlite:////data/" in text


def test_image_installs_the_lock_with_hashes_then_the_project_alone() -> None:
    """The build installs requirements.lock with --require-hashes, then the project with --no-deps."""
    text = dockerfile()
    lock = text.index("--require-hashes -r requirements.lock")
    assert "COPY requirements.lock" in text and lock < text.index("install --no-deps .")


def test_lock_pins_every_runtime_dependency_within_pyproject() -> None:
    """Each dependency of pyproject (and each extra it names) is locked at a version its specifier allows."""
    pins = locked()
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {line}"
    assert {"uvicorn", "uvloop", "httptools", "psycopg-binary"} <= set(pins)  # extras come along


def test_compose_runs_two_replicas_on_one_postgres() -> None:
    """compose.yaml parses; two Countersign services from one build share one DATABASE_URL on the postgres
    service, wait for it to be healthy, and publish different host ports."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:") and "healthcheck" in services["postgres"]
    replicas = {name: s for name, s in services.items() if s.get("build") == "."}
    assert len(replicas) >= 2
    [url] = {s["environment"]["DATABASE_URL"] for s in replicas.values()}
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert all(s["depends_on"]["postgres"]["condition"] == "service_healthy" for s in replicas.values())
    ports = [p for s in replicas.values() for p in s["ports"]]
    assert len(ports) == len(set(ports)) == len(replicas)
