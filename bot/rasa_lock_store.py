"""A Redis lock store whose ticket bookkeeping is atomic, for several Rasa servers on one Redis.

Rasa 3.6's RedisLockStore reads a conversation's ticket lock, changes it and writes it back with no
guard, so two servers taking messages of one conversation at the same moment can issue the same ticket
and both go on, and one server's tracker then overwrites the other's (RasaHQ/rasa#9213; the concurrent
store of RasaHQ/rasa#11256 was reverted). Here each read-change-write of a ticket lock holds a short
Redis mutex. Rasa loads it from bot/endpoints.yml (`type: rasa_lock_store.AtomicRedisLockStore`; Rasa
puts its working directory, bot/, on the import path). It runs in the Rasa server's environment only.
"""
from __future__ import annotations

from typing import Iterator, Text
from contextlib import contextmanager

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

MUTEX_SECONDS = 5  # a read-change-write takes milliseconds; a crashed holder frees it after this


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)

    @contextmanager
    def _mutex(self, conversation_id: Text) -> Iterator[None]:
        with self.red.lock(f"{self.key_prefix}{conversation_id}:mutex", timeout=MUTEX_SECONDS,
                           blocking_timeout=MUTEX_SECONDS):
            yield

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes the ticket, and the lock with it when no one else waits: in one step."""
        with self._mutex(conversation_id):
            lock = self.get_lock(conversation_id)
            if lock is None:
                return
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                self.save_lock(lock)
            else:
                self.delete_lock(conversation_id)
