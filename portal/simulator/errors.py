"""Refusals the simulator answers with, as a provider does: JSON `{"code", "message"}` and a status."""

from __future__ import annotations


class SimError(Exception):
    """A refusal: HTTP `status`, stable `code`, an English `message`, and the offending `field` if any."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, str]:
        answer = {"code": self.code, "message": self.message}
        if self.field:
            answer["field"] = self.field
        return answer


def invalid(field: str, message: str, code: str = "invalid_request") -> SimError:
    return SimError(422, code, message, field=field)


def not_found(what: str) -> SimError:
    return SimError(404, "not_found", f"{what} not found.")


def conflict(code: str, message: str) -> SimError:
    return SimError(409, code, message)
