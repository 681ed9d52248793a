"""The OpenAPI contract: unit checks of the spec built from BentoML's, and a bounded schemathesis run
over every operation of a real server."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

import stance
from service.openapi import DOCS_PAGE, build_spec
from tests.process import ServiceProcess

BASE = {"openapi": "3.0.2", "info": {"title": "stance", "version": "None", "description": "# stance:dev"},
        "paths": {"/classify": {"post": {"responses": {200: {"description": "ok"}, 404: {}, 500: {}}}},
                  "/track": {"post": {"responses": {200: {"description": "ok"}}}},
                  "/livez": {"get": {"responses": {200: {}}}}},
        "components": {"schemas": {}}}


def test_spec_documents_every_status_the_service_answers():
    spec = build_spec(BASE, token_required=True)
    assert spec["info"]["version"] == stance.__version__ and "dev" not in spec["info"]["description"]
    assert set(spec["paths"]["/classify"]["post"]["responses"]) == \
        {"200", "400", "401", "408", "413", "415", "422", "500", "503"}
    assert "504" in spec["paths"]["/track"]["post"]["responses"]
    assert "/model" in spec["paths"] and "ModelDescription" in spec["components"]["schemas"]
    article = spec["paths"]["/articles/{article_id}"]["get"]
    assert set(article["responses"]) == {"200", "400", "401", "404", "422", "500", "503"}
    assert article["parameters"][0] == {"name": "article_id", "in": "path", "required": True,
                                        "description": article["parameters"][0]["description"],
                                        "schema": {"type": "integer"}}
    timeline = spec["paths"]["/timeline"]["get"]
    assert {p["name"] for p in timeline["parameters"]} == \
        {"by", "by_actor", "actor", "since", "min_confidence", "model_version"}
    assert {"StoredArticle", "PostedArticle"} <= set(spec["components"]["schemas"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}] and spec["paths"]["/livez"]["get"]["security"] == []
    open_spec = build_spec(BASE, token_required=False)
    assert "security" not in open_spec and "401" not in open_spec["paths"]["/classify"]["post"]["responses"]


def test_docs_page_loads_only_local_scripts():
    assert "googletagmanager" not in DOCS_PAGE
    assert all(src.startswith("./static_content/")
               for src in DOCS_PAGE.split('src="')[1:] for src in [src.split('"')[0]])


@pytest.fixture(scope="module")
def api_server(tiny_model_dir, tmp_path_factory):
    with ServiceProcess(tiny_model_dir, tmp_path_factory.mktemp("bentoml")) as server:
        yield server


@pytest.mark.integration
def test_every_operation_keeps_its_contract(api_server):
    # schemathesis's pytest plugin does not collect under this pytest, so each operation's cases come
    # from its hypothesis strategy; every default check runs on every response (bounded: 25 per
    # operation).
    schema = schemathesis.openapi.from_url(f"{api_server.url}/docs.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /classify", "POST /score_article", "POST /track", "GET /model", "GET /livez",
        "GET /readyz", "GET /metrics", "POST /articles", "GET /articles/{article_id}", "GET /timeline"}
    failures = {}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(base_url=api_server.url, timeout=120)

        try:
            check()
        except Exception as exc:  # collected, so one run reports every operation that fails
            failures[f"{operation.method.upper()} {operation.path}"] = str(exc)[:2000]
    assert failures == {}


@pytest.mark.integration
def test_the_served_spec_and_docs_page(api_server):
    spec = httpx.get(f"{api_server.url}/docs.json", timeout=10).json()
    assert spec["info"] == build_spec({"paths": {}}, token_required=False)["info"]
    classify = spec["paths"]["/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert classify["properties"]["texts"]["maxItems"] == 256
    assert classify["properties"]["texts"]["items"]["maxLength"] == 2000
    track = spec["paths"]["/track"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert track["properties"]["by"]["enum"] == ["day", "week", "month", "quarter", "year"]
    assert spec["components"]["schemas"]["Classification"]["properties"]["label"]["enum"] == \
        ["pro-membership", "conceding", "opposing", "neutral"]
    page = httpx.get(f"{api_server.url}/", timeout=10).text
    assert "googletagmanager" not in page and "swagger-ui" in page
