"""The engine's side of ovirt-imageio's control service: add, read and remove a ticket.

A ticket lets clients read or write one image file through imageio's data port
(``/images/<ticket id>``); the control service listens on the engine host's localhost.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

TICKET_TIMEOUT = 3600  # seconds a ticket lives (the engine extends it; the lab does not)
INACTIVITY_TIMEOUT = 60


class TicketError(Exception):
    """imageio's control service refused a request or could not be reached."""


def ticket(ticket_id: str, transfer_id: str, image: Path, size: int, ops: list[str],
           sparse: bool) -> dict[str, Any]:
    """The ticket document the engine installs for one transfer."""
    return {"uuid": ticket_id, "size": size, "url": image.as_uri(), "timeout": TICKET_TIMEOUT,
            "inactivity_timeout": INACTIVITY_TIMEOUT, "ops": ops, "transfer_id": transfer_id,
            "sparse": sparse, "dirty": False}


def _call(control: tuple[str, int], method: str, ticket_id: str,
          document: dict[str, Any] | None = None) -> bytes:
    host, port = control
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        body = json.dumps(document).encode() if document is not None else None
        connection.request(method, f"/tickets/{ticket_id}", body=body,
                           headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        data = response.read()
    except OSError as exc:
        raise TicketError(f"ovirt-imageio's control service at {host}:{port} cannot be "
                           f"reached: {exc}") from None
    finally:
        connection.close()
    if response.status >= 300:
        raise TicketError(f"ovirt-imageio refused {method} /tickets/{ticket_id}: "
                           f"{response.status} {data.decode(errors='replace').strip()}")
    return data


def add_ticket(control: tuple[str, int], document: dict[str, Any]) -> None:
    """Install a ticket (:func:`ticket`)."""
    _call(control, "PUT", str(document["uuid"]), document)


def ticket_info(control: tuple[str, int], ticket_id: str) -> dict[str, Any]:
    """imageio's view of a ticket: ``transferred`` bytes, ``active``, ``size``..."""
    info = json.loads(_call(control, "GET", ticket_id))
    if not isinstance(info, dict):
        raise TicketError(f"ovirt-imageio answered a ticket that is not an object: {info!r}")
    return info


def remove_ticket(control: tuple[str, int], ticket_id: str) -> None:
    """Remove a ticket: imageio refuses its URL from then on."""
    _call(control, "DELETE", ticket_id)
