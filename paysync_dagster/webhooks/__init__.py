"""The webhook pipeline: signature check, durable inbox, processor, replay and gap filling.

Plain Python over the store; the HTTP routes live in `server/webhooks.py` and the Dagster
sensor, checks and jobs in `assets/webhooks.py` and `sensors/webhooks.py`.
"""
