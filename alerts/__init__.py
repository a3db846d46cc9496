"""Alert lifecycle, notification outbox and delivery transports."""
