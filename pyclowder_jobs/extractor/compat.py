"""Every difference between pyClowder 2.x and 3.x that job tracking depends on, detected once at import.

Features are read from pyClowder's own signatures and names, not from its version number, so a
release that backports or drops one is still handled. Other modules use these names instead of
checking pyClowder themselves.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any, Dict, Optional

import pyclowder.extractors
from pyclowder.connectors import RabbitMQBroadcast, RabbitMQConnector

#: 3.x: ``RabbitMQBroadcast`` takes ``clowder_email`` and its heartbeat carries it as ``owner``; 2.x: neither.
HEARTBEAT_HAS_OWNER: bool = "clowder_email" in inspect.signature(RabbitMQBroadcast.__init__).parameters

#: 2.x: the connector's ``connect`` binds its queue to ``rabbitmq_exchange`` when one is set; 3.x has no exchange.
CONNECTOR_BINDS_EXCHANGE: bool = "rabbitmq_exchange" in inspect.signature(RabbitMQConnector.__init__).parameters

#: The module whose ``setup_logging`` ``Extractor.setup()`` calls (both lines import it by name into
#: ``pyclowder.extractors``), or None if a release calls something else.
LOGGING_SETUP_MODULE: Optional[ModuleType] = (
    pyclowder.extractors if callable(getattr(pyclowder.extractors, "setup_logging", None)) else None)
#: The name of pyClowder's logging set-up function in :data:`LOGGING_SETUP_MODULE`.
LOGGING_SETUP_NAME = "setup_logging"


def broadcast_arguments(connector: Any) -> Dict[str, Any]:
    """The keyword arguments of ``RabbitMQBroadcast`` for ``connector``'s heartbeat."""
    arguments = dict(rabbitmq_uri=connector.rabbitmq_uri, extractor_info=connector.extractor_info,
                     rabbitmq_queue=connector.rabbitmq_queue, heartbeat=connector.heartbeat)
    if HEARTBEAT_HAS_OWNER:
        arguments["clowder_email"] = connector.clowder_email
    return arguments


def heartbeat_fields(broadcast: Any) -> Dict[str, Any]:
    """pyClowder's heartbeat fields before ``extractor_info``, in its order: ``id``, ``queue``, and ``owner`` on 3.x."""
    fields = {"id": broadcast.id, "queue": broadcast.rabbitmq_queue}
    if HEARTBEAT_HAS_OWNER:
        fields["owner"] = broadcast.clowder_email
    return fields


def bind_exchange(connector: Any) -> None:
    """Bind the connector's queue as 2.x's ``connect`` does when ``rabbitmq_exchange`` is set; nothing on 3.x."""
    exchange = connector.rabbitmq_exchange if CONNECTOR_BINDS_EXCHANGE else None
    if not exchange:
        return
    channel = connector.channel
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    keys = connector.rabbitmq_key or []
    for key in [keys] if isinstance(keys, str) else keys:
        channel.queue_bind(queue=connector.rabbitmq_queue, exchange=exchange, routing_key=key)
    channel.queue_bind(queue=connector.rabbitmq_queue, exchange=exchange,
                       routing_key="extractors." + connector.extractor_name)
