"""Campaigns written in the wizard but not yet published: held in this app's memory only.

A draft keeps the form as typed (to edit it again) and the exact descriptor bytes that the
preview shows and that "Sign and publish" signs, so what the organizer checked is what students
get. Drafts hold no pledge and no secret; they live until published or the app stops.
"""

import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from flask import current_app

from organizer.campaign_form import CampaignForm

MAX_DRAFTS = 20


@dataclass(frozen=True)
class Draft:
    form: CampaignForm
    descriptor: bytes

    @property
    def fields(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.descriptor)
        return parsed


class Drafts:
    def __init__(self) -> None:
        self._items: dict[str, Draft] = {}
        self._lock = threading.Lock()

    def put(self, draft: Draft) -> str:
        draft_id = secrets.token_urlsafe(12)
        with self._lock:
            while len(self._items) >= MAX_DRAFTS:
                self._items.pop(next(iter(self._items)))
            self._items[draft_id] = draft
        return draft_id

    def get(self, draft_id: str) -> Draft | None:
        return self._items.get(draft_id)

    def pop(self, draft_id: str) -> Draft | None:
        with self._lock:
            return self._items.pop(draft_id, None)


def drafts() -> Drafts:
    store: Drafts = current_app.extensions.setdefault("pledgebox_drafts", Drafts())
    return store
