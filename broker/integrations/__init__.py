"""The store's other systems: voice announcements, signed webhooks, Home Assistant, Prometheus.

Each integration is a subscriber to the hub's public protocol (docs/protocol.md), off by default,
configured in its own TOML section, and run by ``staffcall integrations`` on the hub machine, never
inside the hub: a slow loudspeaker or a webhook receiver that is down cannot slow a page.
``host.IntegrationHost`` gives each one its own thread and queue over one MQTT connection.
"""
