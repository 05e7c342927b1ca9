"""docker-compose.yml against the Compose Specification's JSON schema, without Docker.

Why: `docker compose config` needs the compose plugin, which CI does not have, and the shape
test in tests/test_deploy.py only checks what it names. The schema catches what neither does:
a misspelt key (`restrat:`), a depends_on condition that does not exist
(`service_complete`), a wrong type. It is the specification's own schema, vendored as
deploy/compose.schema.json from the npm package dclint 3.1.0 (file schemas/compose.schema.json,
which carries compose-spec's compose_spec.json); SCHEMA_SHA256 pins that copy, so the schema
cannot be loosened in place to let a broken file through. To update: `npm pack dclint@VERSION`,
copy the file, and change the version and hash here.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import jsonschema
import pytest
import yaml

from service.config import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "deploy" / "compose.schema.json"
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"


def _validator() -> jsonschema.Draft7Validator:
    # The schema says draft-07 by an address jsonschema does not know (https, no '#'): name it.
    schema = json.loads(SCHEMA.read_text())
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _compose() -> dict[str, Any]:
    # PyYAML resolves the file's anchors and `<<` merge keys as compose does.
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _validator().iter_errors(document)]


def test_the_vendored_schema_is_the_packaged_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert _errors(_compose()) == []


def _typo_key(doc: dict[str, Any]) -> None:
    doc["services"]["worker"]["restrat"] = doc["services"]["worker"].pop("restart")


def _typo_condition(doc: dict[str, Any]) -> None:
    doc["services"]["web"]["depends_on"] = copy.deepcopy(doc["services"]["web"]["depends_on"])
    doc["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_complete"


def _typo_healthcheck(doc: dict[str, Any]) -> None:
    doc["services"]["web"]["healthcheck"]["retry"] = 3


def _bad_top_level(doc: dict[str, Any]) -> None:
    doc["service"] = doc.pop("services")


def _bad_type(doc: dict[str, Any]) -> None:
    doc["services"]["nginx"]["ports"] = "8080:80"


@pytest.mark.parametrize("break_it", [_typo_key, _typo_condition, _typo_healthcheck,
                                      _bad_top_level, _bad_type])
def test_a_typo_fails_the_check(break_it: Any) -> None:
    """The check has teeth: each small mistake an editor could make is reported."""
    document = copy.deepcopy(_compose())
    break_it(document)
    assert _errors(document), f"{break_it.__name__} was not caught"
