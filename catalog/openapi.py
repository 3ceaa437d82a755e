"""The OpenAPI schema: drf-spectacular's, plus the error answers each operation can give.

drf-spectacular declares only the success answer. The errors follow from how a view is set up,
so they are added here from that set-up, for every operation alike: a view that authenticates
can answer 403, one with a path parameter 404, one that is throttled 429, and so on. Answers
that only one view gives (409, 503) are declared on the view itself (catalog/api.py).
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from catalog.serializers import ErrorSerializer

# DRF's validation errors: each bad parameter or field named, with what is wrong with it (a list
# of messages, or for a list field the messages per item); `detail` for a body that can't be read.
VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "Each bad parameter or field, with what is wrong with it.",
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args: object, **kwargs: object) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status, description in self._error_answers(operation):
            if str(status) not in responses:
                body = VALIDATION_ERROR if status == 400 else ErrorSerializer
                responses[str(status)] = self._get_response_for_code(OpenApiResponse(body, description), str(status))
        if "429" in responses:
            responses["429"]["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until a request is let in."}
            }
        return operation

    def _error_answers(self, operation: dict) -> list[tuple[int, str]]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        page_parameters = {p["name"] for p in self._get_pagination_parameters()}
        answers = []
        if has_body or any(p["in"] == "query" and p["name"] not in page_parameters for p in parameters):
            answers.append((400, "A parameter or field is missing, malformed or out of range."))
        if self.view.get_authenticators() or not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            answers.append((403, "Not allowed: not logged in (or not staff, where staff only), credentials that "
                                 "don't check out, or a logged-in write without its CSRF token."))  # fmt: skip
        if any(p["in"] == "path" for p in parameters) or page_parameters:
            answers.append((404, "No such object, or no such page of the list."))
        if has_body:
            answers.append((413, "The request body is larger than the API takes."))
            answers.append((415, "The body is in a format this operation does not read."))
        if self.view.get_throttles():
            answers.append((429, "Too many requests: see Retry-After."))
        return answers
