"""Conversation state behind a small interface, so SQLite or Redis can replace memory without the engine noticing."""
from __future__ import annotations

import copy
import threading
import time
from typing import Any, Protocol

SLOTS = ("cancer_type", "country", "requested_slot", "active_form", "age", "sex", "city")


def new_state() -> dict[str, Any]:
    return {"slots": {name: None for name in SLOTS}, "updated": time.time()}


class ConversationStore(Protocol):
    def load(self, session_id: str) -> dict[str, Any]:
        """The session's state; a new empty state if there is none."""

    def save(self, session_id: str, state: dict[str, Any]) -> None: ...

    def delete(self, session_id: str) -> bool:
        """Forget a session; True if it existed."""


class InMemoryStore:
    """For tests and the terminal chat. States are copied in and out, so callers never share them."""

    def __init__(self) -> None:
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            state = self._states.get(session_id)
            return copy.deepcopy(state) if state is not None else new_state()

    def save(self, session_id: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._states[session_id] = copy.deepcopy(dict(state, updated=time.time()))

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._states.pop(session_id, None) is not None
