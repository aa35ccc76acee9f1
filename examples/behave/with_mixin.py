"""Run the Behave extractor through a connector class that has the tracking mixin."""

from pyclowder.connectors import RabbitMQConnector

from pyclowder_jobs.tools.demo.behave import Behave
from pyclowder_jobs import JobTrackingMixin


class TrackedConnector(JobTrackingMixin, RabbitMQConnector):
    """pyClowder's RabbitMQ connector, with a job id on everything each job emits."""


if __name__ == "__main__":
    extractor = Behave()
    args = extractor.args
    connector = TrackedConnector(extractor_name=args.rabbitmq_queuename, extractor_info=extractor.extractor_info,
                                 rabbitmq_uri=args.rabbitmq_uri, rabbitmq_queue=args.rabbitmq_queuename,
                                 check_message=extractor.check_message, process_message=extractor.process_message,
                                 heartbeat=float(args.heartbeat), max_retry=int(args.max_retry))
    connector.connect()
    connector.listen()
