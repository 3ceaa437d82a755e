"""All writes to the catalog. Keyword-only arguments; names are <thing>_<verb>."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Source, TimeReading


def source_create(
    *, kind: str, locator: str, max_items: int | None = None, created_by: AbstractBaseUser | None = None
) -> Source:
    source = Source(kind=kind, locator=locator.strip(), max_items=max_items, created_by=created_by)
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def readings_verify(*, readings: QuerySet[TimeReading], user: AbstractBaseUser) -> int:
    """Mark readings as checked by a curator; their time stays as it is."""
    return readings.update(verified_by=user, verified_at=timezone.now(), status=TimeReading.Status.ACCEPTED)
