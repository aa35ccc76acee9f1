"""Run the Behave extractor through a connector class that has the tracking mixin."""

import logging

from pyclowder.connectors import RabbitMQConnector

from pyclowder_jobs.tools.demo.behave import Behave
from pyclowder_jobs import JobTrackingMixin

#: pyClowder's default log format, with the job id of each record.
LOG_FORMAT = "%(asctime)-15s [%(threadName)-15s] %(levelname)-7s [%(job_id)s] : %(name)s - %(message)s"


class TrackedConnector(JobTrackingMixin, RabbitMQConnector):
    """pyClowder's RabbitMQ connector, with a job id on everything each job emits."""


if __name__ == "__main__":
    extractor = Behave()
    args = extractor.args
    connector = TrackedConnector(extractor_name=args.rabbitmq_queuename, extractor_info=extractor.extractor_info,
                                 rabbitmq_uri=args.rabbitmq_uri, rabbitmq_queue=args.rabbitmq_queuename,
                                 check_message=extractor.check_message, process_message=extractor.process_message,
                                 heartbeat=float(args.heartbeat), max_retry=int(args.max_retry))
    # The connector leaves logging to the application: from now on every record has a job_id to show.
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO, force=True)
    connector.connect()
    connector.listen()
