"""Alerting: the alert lifecycle, noise control, routing, channels and delivery.

* ``lifecycle`` turns colour codes into alerts (pending, firing, escalations, resolved,
  flapping); ``staleness`` and ``reminders`` are the scheduler's chores
  (``housekeeping.run_housekeeping``); ``workflow`` is what staff do.
* ``outbox`` queues notices routed by ``routing`` (routes and channel filters);
  ``batching`` groups them per (level, dimension, region or cluster) and mutes those
  covered by ``silences`` or ``inhibition``; ``dispatch`` sends and retries;
  ``deadletters`` lists what was given up and re-sends it; ``testsend`` tries a channel.
* ``notices`` snapshots what a message tells, ``messages`` renders it, ``transports``
  deliver it (email, Alertmanager-style webhook, DingTalk, WeCom, Feishu).
* ``policy`` holds the tunable timings, ``playbooks`` the admins' response texts.
"""
