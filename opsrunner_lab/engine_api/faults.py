"""Faults as the engine answers them.

A refused operation is ``<fault><reason>Operation Failed</reason><detail>[Cannot ...]</detail>
</fault>`` (400 for bad input, 409 when the entity's state forbids it); inside an action the
same fault is wrapped in ``<action>`` with ``<status>failed</status>``. A GET of an unknown id is
a 404 with an empty body, as on the real engine.
"""

from __future__ import annotations

from opsrunner_lab.engine_api.model import Document

OPERATION_FAILED = "Operation Failed"


class ApiFault(Exception):
    """An error answer of the API.

    :param status: the HTTP status.
    :param detail: the ``<detail>`` text (validation messages are bracketed: ``[Cannot ...]``).
    :param reason: the ``<reason>`` text.
    :param empty: answer with no body at all (the engine's 404).
    """

    def __init__(self, status: int, detail: str = "", *, reason: str = OPERATION_FAILED,
                 empty: bool = False) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.detail = detail
        self.reason = reason
        self.empty = empty

    def document(self) -> Document:
        """The ``<fault>`` document."""
        return {"reason": self.reason, "detail": self.detail}

    def action_document(self) -> Document:
        """The ``<action>`` document a failed action answers."""
        return {"fault": self.document(), "status": "failed"}


def not_found() -> ApiFault:
    """An unknown entity or path: 404, empty body."""
    return ApiFault(404, reason="Not Found", empty=True)


def conflict(message: str) -> ApiFault:
    """The entity's state forbids the operation: 409 ``[message]``."""
    return ApiFault(409, f"[{message}]")


def bad_request(message: str) -> ApiFault:
    """The request is invalid: 400 ``[message]``."""
    return ApiFault(400, f"[{message}]")


def incomplete(entity: str, fields: list[str], verb: str) -> ApiFault:
    """Required parameters missing: 400 ``Incomplete parameters``, e.g. ``Event [origin] ...``."""
    return ApiFault(400, f"{entity} [{', '.join(fields)}] required for {verb}",
                    reason="Incomplete parameters")
