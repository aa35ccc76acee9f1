"""Monitoring for Prometheus: the bundled alert rules (``alert_rules.yml``), see ``docs/monitoring.rst``."""
