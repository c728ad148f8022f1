"""The smallest meaningful CDK app (one bucket), synthesized beside ours for a ratio."""

from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

app = App()
stack = Stack(app, "MinimalBucket")
s3.Bucket(stack, "Bucket")
app.synth()
