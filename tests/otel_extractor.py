"""``examples/behave/with_mixin.py`` with OpenTelemetry set up from the environment, for the tracing tests.

``TRACES_FILE``: configure the SDK with an exporter that appends each finished span to that file,
one JSON object a line (the SDK's own ``ReadableSpan.to_json``). ``BLOCK_OPENTELEMETRY=1``: make
``import opentelemetry`` fail, as where it is not installed. Neither: OpenTelemetry is installed
but not configured.
"""

import json
import os
import runpy
import sys
from pathlib import Path

BEHAVE = Path(__file__).resolve().parent.parent / "examples" / "behave"


def configure_file_exporter(path):
    """A global tracer provider whose spans are written to ``path`` as they end."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class JsonLinesExporter(SpanExporter):
        """Appends each span to a file as one line of JSON."""

        def __init__(self):
            self._file = open(path, "a", encoding="utf-8")

        def export(self, spans):
            for span in spans:
                self._file.write(json.dumps(json.loads(span.to_json(indent=None))) + "\n")
            self._file.flush()
            return SpanExportResult.SUCCESS

        def shutdown(self):
            self._file.close()

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter()))
    trace.set_tracer_provider(provider)


if __name__ == "__main__":
    if os.environ.get("BLOCK_OPENTELEMETRY") == "1":
        sys.modules["opentelemetry"] = None  # every import of opentelemetry or its modules raises ImportError
    elif os.environ.get("TRACES_FILE"):
        configure_file_exporter(os.environ["TRACES_FILE"])
    os.chdir(BEHAVE)  # where pyClowder finds extractor_info.json
    runpy.run_path(str(BEHAVE / "with_mixin.py"), run_name="__main__")
