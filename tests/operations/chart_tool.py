"""Lint, render and schema-check the Helm chart, in the chart tools' own virtualenv (not the project's):
Helm v4's own library (helm-python-sdk) renders offline, kubernetes-validate checks every manifest
against the Kubernetes API's JSON schemas, strictly (an unknown field is an error).

Usage: python chart_tool.py CHART VALUES_FILE OVERRIDES_JSON KUBE_VERSION...
VALUES_FILE is YAML ("" for the chart's defaults only), OVERRIDES_JSON is merged over it key by key.
Prints one JSON object:
{"lint_errors": [...], "render_error": str | null, "documents": [{"template", "object"}],
 "invalid": [{"template", "kind", "version", "error"}]}
"""

from __future__ import annotations

import json
import sys

import helm_python as helm
import kubernetes_validate
import yaml


def main(chart: str, values_file: str, overrides: str, kube_versions: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    if values_file:
        with open(values_file, encoding="utf-8") as file:
            values = yaml.safe_load(file)
    values = _merge(values, json.loads(overrides))
    lint = helm.lint(chart, values, strict=True, kube_version="v" + kube_versions[0])
    result: dict[str, object] = {
        "lint_errors": lint["errors"],
        "render_error": None,
        "documents": [],
        "invalid": [],
    }
    try:
        with helm.Chart.load(chart) as loaded:
            rendered = loaded.render(values, name="referral-service", namespace="referrals", is_install=True)
    except helm.HelmError as exc:
        result["render_error"] = str(exc)
        return result
    documents = [
        {"template": template, "object": document}
        for template, text in sorted(rendered.items())
        for document in yaml.safe_load_all(text)
        if document
    ]
    result["documents"] = documents
    result["invalid"] = [
        {"template": doc["template"], "kind": doc["object"].get("kind"), "version": version, "error": error}
        for doc in documents
        for version in kube_versions
        if (error := _schema_error(doc["object"], version)) is not None
    ]
    return result


def _merge(base: dict[str, object], overrides: dict[str, object]) -> dict[str, object]:
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _schema_error(document: dict[str, object], version: str) -> str | None:
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
        return str(exc)
    return None


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])))
