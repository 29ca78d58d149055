"""Prints a SAM template transformed to plain CloudFormation (JSON), offline.

checkov reads AWS::Serverless::* resources as they are written, so it never sees the roles and
policies SAM generates from them. Run with .venv/sam/bin/python:

    .venv/sam/bin/python tools/sam-transform.py template.yaml > transformed.json

Local paths (CodeUri, DefinitionUri, ContentUri) become placeholder S3 URIs, as `sam package`
would make them, and managed policy names resolve from a fixed table instead of an IAM call.
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# The managed policies SAM attaches by name (basic execution, tracing, policy templates).
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}

ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class StaticManagedPolicies:
    """Stands in for the IAM lookup the translator would otherwise make."""

    def load(self):
        return MANAGED_POLICIES


def with_placeholder_artifacts(template):
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://artifacts/functions"
    for logical_id, resource in template.get("Resources", {}).items():
        prop = ARTIFACT_PROPERTIES.get(resource.get("Type"))
        properties = resource.get("Properties", {})
        if prop and isinstance(properties.get(prop), str):
            properties[prop] = f"s3://artifacts/{logical_id}"
    return template


def main(path):
    # The translator resolves pseudo parameters through a boto session, which needs some region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as handle:
        template = with_placeholder_artifacts(yaml_parse(handle.read()))
    json.dump(transform(template, {}, StaticManagedPolicies()), sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sam-transform.py <template.yaml>")
    main(sys.argv[1])
