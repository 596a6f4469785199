from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_documents_health_and_ready(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert schema["paths"]["/health"]["get"]["responses"]["200"]
    ready = schema["paths"]["/ready"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReadyResponse"
    }
    assert ready["503"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/NotReadyProblem"
    }


def test_openapi_documents_the_problem_schemas(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]

    problem = components["Problem"]
    assert set(problem["required"]) >= {"title", "status", "detail", "instance"}
    assert {"type", "request_id"} <= set(problem["properties"])
    assert "errors" in components["ValidationProblem"]["properties"]
    assert "checks" in components["NotReadyProblem"]["properties"]
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            assert "application/problem+json" in operation["responses"]["500"]["content"]


def test_validation_errors_are_documented_as_problems(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    response = schema["paths"]["/_test/search"]["get"]["responses"]["422"]
    assert response["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
