"""What leaves the engine after a step: in-app notifications and webhook deliveries.

The step writer never imports this package; :func:`subscribe` hands a runtime the listeners
that turn each recorded step (its events and notices) into rows in the same transaction.
"""
from __future__ import annotations

from functools import partial

from engine.outbound import notifications, webhooks
from engine.runtime import Runtime


def subscribe(rt: Runtime) -> Runtime:
    """Have ``rt`` hand every recorded step to notifications and webhooks; return ``rt``."""
    rt.subscribe(notifications.deliver)
    rt.subscribe(partial(webhooks.queue, rt=rt))
    return rt
