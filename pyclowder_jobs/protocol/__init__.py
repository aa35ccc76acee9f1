"""The wire contract, in one place and with the standard library only (``docs/wire.rst``).

``ids``: the job-id rule and new ids.  ``tracking``: the ``tracking`` object's fields and kinds,
with the writer the extractor side uses and the reader every consumer uses.  ``times``: the
time formats written and read.  ``identity``: what makes two events the same.
"""
