"""Outgoing messages: the outbox that `carebridge worker` delivers after commit."""
