"""S3 event notifications as SQS delivers them, from the shapes AWS documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from wearit_storage.errors import MalformedUploadEvent
from wearit_storage.uploads.events import parse_message

# As S3 sends it (notification-content-structure, event version 2.1): the key is
# form-URL-encoded, so "my photo(1).jpg" arrives as "my+photo%281%29.jpg".
POST_EVENT = """{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",
"awsRegion":"eu-west-3","eventTime":"2026-11-30T08:15:02.123Z",
"eventName":"ObjectCreated:Post","userIdentity":{"principalId":"AWS:AROAEXAMPLE:app"},
"requestParameters":{"sourceIPAddress":"203.0.113.7"},
"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810",
"x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
"s3":{"s3SchemaVersion":"1.0","configurationId":"UploadsToQueue",
"bucket":{"name":"wearit-storage-dev","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},
"arn":"arn:aws:s3:::wearit-storage-dev"},
"object":{"key":"temp/0f1e2d3c/my+photo%281%29.jpg","size":1024,
"eTag":"d41d8cd98f00b204e9800998ecf8427e","versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko",
"sequencer":"0055AED6DCD90281E5"}}}]}"""

TEST_EVENT = json.dumps(
    {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-30T08:00:00.000Z",
        "Bucket": "wearit-storage-dev",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
)


def test_a_post_event_is_parsed_with_its_key_url_decoded() -> None:
    (event,) = parse_message(POST_EVENT)
    assert event.bucket == "wearit-storage-dev"
    assert event.key == "temp/0f1e2d3c/my photo(1).jpg"
    assert event.size == 1024
    assert event.event_name == "ObjectCreated:Post"
    assert event.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert event.event_time == datetime(2026, 11, 30, 8, 15, 2, 123000, tzinfo=UTC)


def test_the_test_event_s3_sends_on_configuration_holds_no_upload() -> None:
    assert parse_message(TEST_EVENT) == []


def test_records_other_than_object_created_are_skipped() -> None:
    document = json.loads(POST_EVENT)
    removed = json.loads(POST_EVENT)["Records"][0] | {"eventName": "ObjectRemoved:Delete"}
    document["Records"].append(removed)
    assert [e.event_name for e in parse_message(json.dumps(document))] == ["ObjectCreated:Post"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an S3 event"),
        ('{"hello": "world"}', "no Records list"),
        ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}', "lacks"),
    ],
)
def test_anything_else_is_malformed_and_says_what(body: str, message: str) -> None:
    with pytest.raises(MalformedUploadEvent, match=message) as raised:
        parse_message(body)
    assert raised.value.code == "malformed_event"
