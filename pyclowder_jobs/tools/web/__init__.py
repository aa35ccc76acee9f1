"""The web page of pyclowder-jobs: ``pyclowder-jobs serve --db FILE``.

``pages`` renders the index and the job page as HTML, ``chart`` draws each worker's progress as
SVG, ``progress_api`` turns the progress-service calls (create, update, show, render) into events
the store keeps, and ``server`` serves all of it over HTTP with the standard library only.
"""
