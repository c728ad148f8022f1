#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` synthesizes dev and prod; `-c env=prod` selects one."""

from __future__ import annotations

import sys

from aws_cdk import App

from cdk.application import build_app
from cdk.bundle import BundleError
from cdk.config import ConfigError


def main() -> None:
    app = App()
    try:
        build_app(app)
    except ConfigError as error:
        sys.exit(f"wearit-storage configuration error: {error}")
    except BundleError as error:
        sys.exit(f"wearit-storage bundle error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
