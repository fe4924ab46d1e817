"""Domain errors. Services raise them; the API's one exception handler turns them into 4xx bodies.

No Django imports, so the pure rules may raise them too.
"""


class DomainError(Exception):
    """A request the rules refuse. `field` names the input at fault, when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def as_body(self) -> dict:
        if self.field:
            return {self.field: [self.message], "code": self.code}
        return {"detail": self.message, "code": self.code}


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="not_found")


class IdempotencyConflict(DomainError):
    """The same report id arrived with a different body."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = "report_id") -> None:
        super().__init__(message, field=field, code="idempotency_conflict")


class Conflict(DomainError):
    status_code = 409

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="conflict")


class Forbidden(DomainError):
    """The actor's roles do not allow the write."""

    status_code = 403

    def __init__(self, message: str, *, field: str | None = "actor") -> None:
        super().__init__(message, field=field, code="forbidden")
