"""Request headers under which a body must not be read as JSON: what a cross-site HTML form (the first
three, sent without the browser asking the service first) or a careless client sends."""

from __future__ import annotations

import pytest

NOT_DECLARED_JSON = pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/xml"},
        {},
        {"content-type": "application/json", "content-encoding": "gzip"},
    ],
    ids=["text", "form", "multipart", "xml", "none", "gzip"],
)
