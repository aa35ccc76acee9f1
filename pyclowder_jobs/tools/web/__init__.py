"""The web page of pyclowder-jobs: ``pyclowder-jobs serve --db FILE``, or mounted in an ASGI app.

``make_app(store)`` is an ASGI app (Starlette) with the index, the job pages (with their log
lines), the JSON API and the progress-service API; it follows the store live (Server-Sent Events).
``app`` routes it, ``guard`` checks hosts and origins and adds the security headers, ``views`` and
``templates/`` make the HTML, ``chart`` draws each worker's progress as SVG, ``live`` streams
updates, ``progress_api`` turns the progress-service calls into events, ``serve`` runs it on uvicorn.
"""

from .app import make_app

__all__ = ["make_app"]
