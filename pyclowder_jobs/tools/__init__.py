"""The operator tools: store, recorder, importer, reports, the terminal views, the web page and the
command line (``pyclowder-jobs``).  They need the ``tools`` extra (``rich``).
"""
