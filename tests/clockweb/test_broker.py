"""django-q2 brokers: the ORM broker by default, Redis when REDIS_URL is set."""

from __future__ import annotations

import uuid

import pytest
import redis
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_the_default_broker_is_the_database(db):
    broker = get_broker(f"clockweb-test-{uuid.uuid4().hex}")
    assert isinstance(broker, ORM)
    broker.enqueue("payload")
    assert broker.queue_size() == 1
    ((task_id, payload),) = broker.dequeue()
    assert payload == "payload"
    broker.acknowledge(task_id)
    assert broker.queue_size() == 0


def test_the_redis_broker_queues_and_delivers_tasks(monkeypatch):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis server on 127.0.0.1:6379 ({error})")
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)

    broker = get_broker(f"clockweb-test-{uuid.uuid4().hex}")
    try:
        assert isinstance(broker, Redis)
        broker.enqueue("payload")
        assert broker.queue_size() == 1
        ((_, payload),) = broker.dequeue()
        assert payload == b"payload"
    finally:
        broker.delete_queue()
