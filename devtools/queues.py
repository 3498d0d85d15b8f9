"""Local SQS for `make dev`: the template's queues on moto's SQS, and one poller per
SQS-triggered function feeding the real handler with real SQS event shapes.

Everything comes from template.yaml: each AWS::SQS::Queue becomes a queue (visibility timeout,
retention and redrive policy included), environment variables that `!Ref` a queue get its URL,
and each function with an `SQS` event gets a poller that, like Lambda's event source mapping,
receives up to BatchSize messages, invokes the handler, and deletes what it did not report as
failed (ReportBatchItemFailures); a handler that raises leaves the whole batch to come back
after its visibility timeout. moto honours delays, visibility changes and redrive, so retries
and dead-lettering happen locally as on AWS.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3

from devtools.gateway import LoadedFunction, load_function
from devtools.template import Function, functions, resources

POLL_WAIT_SECONDS = 1  # long poll: a message is picked up as soon as it is visible
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")


@dataclass(frozen=True)
class QueueTrigger:
    function: Function
    queue: str  # logical id
    batch_size: int
    reports_failures: bool


def queue_names(template: dict[str, Any], prefix: str) -> dict[str, str]:
    return {logical: f"{prefix}-{logical}" for logical in resources(template, "AWS::SQS::Queue")}


def queue_triggers(template: dict[str, Any]) -> list[QueueTrigger]:
    by_id = functions(template)
    triggers = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event["Properties"]
            triggers.append(
                QueueTrigger(
                    function=by_id[name],
                    queue=props["Queue"]["Fn::GetAtt"][0],
                    batch_size=int(props.get("BatchSize", 10)),
                    reports_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                )
            )
    return triggers


def queue_environment(template: dict[str, Any], urls: dict[str, str]) -> dict[str, str]:
    """Every function environment variable that `!Ref`s a queue, set to its local URL (one
    process runs every function, so the union of them)."""
    found: dict[str, str] = {}
    for res in resources(template, "AWS::Serverless::Function").values():
        variables = (res["Properties"].get("Environment") or {}).get("Variables") or {}
        for var, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in urls:
                found[var] = urls[value["Ref"]]
    return found


def create_queues(client: Any, template: dict[str, Any], prefix: str) -> dict[str, str]:
    """Create every queue of the template (dead-letter targets first): logical id → URL."""
    names = queue_names(template, prefix)
    queues = resources(template, "AWS::SQS::Queue")
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}

    def create(logical: str) -> None:
        if logical in urls:
            return
        props = queues[logical].get("Properties") or {}
        attributes = {k: str(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            create(target)
            attributes["RedrivePolicy"] = (
                f'{{"deadLetterTargetArn": "{arns[target]}", '
                f'"maxReceiveCount": {int(redrive["maxReceiveCount"])}}}'
            )
        urls[logical] = client.create_queue(QueueName=names[logical], Attributes=attributes)[
            "QueueUrl"
        ]
        arns[logical] = client.get_queue_attributes(
            QueueUrl=urls[logical], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]

    for logical in queues:
        create(logical)
    return urls


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """ReceiveMessage results in the shape Lambda hands an SQS-triggered function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePoller:
    """Lambda's SQS event source mapping for one function, in a thread."""

    def __init__(
        self, client: Any, trigger: QueueTrigger, loaded: LoadedFunction, url: str, arn: str
    ) -> None:
        self._client = client
        self._trigger = trigger
        self._loaded = loaded
        self._url = url
        self._arn = arn
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-{trigger.function.logical_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(POLL_WAIT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the emulator keeps running, as Lambda's poller would
                print(f"local SQS poller {self._trigger.function.logical_id}: {exc!r}", flush=True)
                self._stop.wait(1)

    def poll_once(self) -> int:
        """One receive and invoke; returns how many messages it handed over."""
        messages = self._client.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=min(self._trigger.batch_size, 10),
            WaitTimeSeconds=POLL_WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self._arn, self._client.meta.region_name)
        result = self._loaded.invoke(event)
        failed: set[str] = set()
        if self._trigger.reports_failures and isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
        for message in messages:
            if message["MessageId"] not in failed:
                self._client.delete_message(
                    QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"]
                )
        return len(messages)


def start_local_queues(
    stack: contextlib.ExitStack, template: dict[str, Any], endpoint: str | None, prefix: str
) -> tuple[str, Any]:
    """Create the queues on `endpoint` (a moto server of our own when None), point the
    functions' queue variables at them, and return (endpoint, client); the pollers start
    with `start_pollers` once the handlers may be imported."""
    if endpoint is None:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        stack.callback(server.stop)
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
    client = boto3.client("sqs", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
    urls = create_queues(client, template, prefix)
    os.environ.update(queue_environment(template, urls))
    os.environ["PARLEY_SQS_ENDPOINT"] = endpoint
    return endpoint, client


def start_pollers(
    stack: contextlib.ExitStack, template: dict[str, Any], client: Any, prefix: str
) -> list[QueueTrigger]:
    names = queue_names(template, prefix)
    triggers = queue_triggers(template)
    for trigger in triggers:
        url = client.get_queue_url(QueueName=names[trigger.queue])["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        poller = QueuePoller(client, trigger, load_function(template, trigger.function), url, arn)
        poller.start()
        stack.callback(poller.stop)
    return triggers
