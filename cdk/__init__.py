"""WearIT storage infrastructure (AWS CDK v2): configuration, constructs and stacks."""
