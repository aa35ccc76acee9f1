"""The extractor side: job tracking inside a pyClowder extractor (needs pyClowder and pika).

Data flows one way: ``connector`` takes a message and ``request`` finds or makes its job id;
``handler`` runs the job and stamps the id on every status, ``heartbeat`` on every heartbeat and
``logs`` on every log record; ``tap`` publishes copies for watchers, and ``tracing`` makes an
OpenTelemetry span of each job attempt when OpenTelemetry is configured.  ``patch`` turns it all on
and off; ``worker`` is the process's identity and running jobs; ``settings`` its environment;
``compat`` holds every difference between pyClowder 2.x and 3.x.
"""
