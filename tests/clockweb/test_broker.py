"""django-q2 brokers: the ORM broker by default, Redis when REDIS_URL is set."""

from __future__ import annotations

import uuid

from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf


def test_the_default_broker_is_the_database(db):
    broker = get_broker(f"clockweb-test-{uuid.uuid4().hex}")
    assert isinstance(broker, ORM)
    broker.enqueue("payload")
    assert broker.queue_size() == 1
    ((task_id, payload),) = broker.dequeue()
    assert payload == "payload"
    broker.acknowledge(task_id)
    assert broker.queue_size() == 0


def test_the_redis_broker_queues_and_delivers_tasks(redis_server, monkeypatch):
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"{redis_server}/15")

    broker = get_broker(f"clockweb-test-{uuid.uuid4().hex}")
    try:
        assert isinstance(broker, Redis)
        broker.enqueue("payload")
        assert broker.queue_size() == 1
        ((_, payload),) = broker.dequeue()
        assert payload == b"payload"
    finally:
        broker.delete_queue()
