"""Outbound webhook deliveries: fan-out from the event log, signing, sending, retries.

- ``fanout``: the process over the notification log that turns each customer event
  into one ``WebhookDelivery`` per matching endpoint (exactly once per pair);
- ``queue``: the arq send jobs (``deliver_webhook``), one per attempt, idempotent ids;
- ``sender``: one attempt: claim, sign, POST through the SSRF guard, record the outcome;
- ``signing``: Standard Webhooks headers; ``schedule``: retry delays with jitter.
"""
