"""The admin index's task panel: failures per task over the last day and week, and live workers."""

from __future__ import annotations

from django import template

from catalog import selectors

register = template.Library()


@register.inclusion_tag("admin/catalog_task_health.html")
def task_health() -> dict[str, object]:
    return {"failures": selectors.task_failure_counts(), "health": selectors.health()}
