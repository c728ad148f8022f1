"""The image CDN (cdk/constructs/delivery.py), asserted on the synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from cdk.config import ConfigError, load_environments
from tests.cdk.helpers import (
    ENVIRONMENTS,
    Templates,
    bucket_named,
    distribution_arn,
    environments_with,
    only,
    resources_of_type,
)
from tests.synth import cdk_json_context

SERVED = ["clothing/", "tryon/", "avatars/"]
NOT_SERVED = ["body/", "temp/", "exports/"]


def primary_template(templates: Templates, env: str) -> dict[str, Any]:
    return templates[f"WearitStorage-{env}"]


def distribution_config(templates: Templates, env: str) -> dict[str, Any]:
    _, distribution = only(primary_template(templates, env), "AWS::CloudFront::Distribution")
    config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return config


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in document["Statement"] if s.get("Sid") == sid]
    (only_one,) = found
    return only_one


def bucket_policy(template: dict[str, Any], bucket_name: str) -> dict[str, Any]:
    logical_id, _ = bucket_named(template, bucket_name)
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    document: dict[str, Any] = policy["Properties"]["PolicyDocument"]
    return document


def object_resources(bucket: str, prefixes: list[str]) -> set[str]:
    return {f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in prefixes}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_origins_go_through_one_origin_access_control_signing_always(
    templates: Templates, env: str
) -> None:
    template = primary_template(templates, env)
    oac_id, oac = only(template, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None, "Description": None} == {
        "Name": None,
        "Description": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    origins = {o["Id"]: o for o in distribution_config(templates, env)["Origins"]}
    assert {o["DomainName"] for o in origins.values()} == {
        f"wearit-storage-{env}.s3.us-east-1.amazonaws.com",
        f"wearit-storage-{env}-replica.s3.us-west-2.amazonaws.com",
    }
    for origin in origins.values():
        assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
        # No legacy origin access identity, no custom (public HTTP) origin.
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        assert "CustomOriginConfig" not in origin


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_origin_group_fails_over_to_the_replica_on_5xx(templates: Templates, env: str) -> None:
    config = distribution_config(templates, env)
    (group,) = config["OriginGroups"]["Items"]
    assert config["OriginGroups"]["Quantity"] == 1
    assert group["FailoverCriteria"]["StatusCodes"] == {
        "Quantity": 4,
        "Items": [500, 502, 503, 504],
    }
    assert group["Members"] == {
        "Quantity": 2,
        "Items": [{"OriginId": "primary"}, {"OriginId": "replica"}],
    }
    origins = {o["Id"]: o["DomainName"] for o in config["Origins"]}
    assert origins["primary"].startswith(f"wearit-storage-{env}.s3.")
    assert origins["replica"].startswith(f"wearit-storage-{env}-replica.s3.")
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == group["Id"]
    assert "CacheBehaviors" not in config  # one behaviour: nothing reaches S3 around it


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_viewers_need_a_signature_of_the_key_group_from_cdk_json(
    templates: Templates, env: str
) -> None:
    template = primary_template(templates, env)
    group_id, group = only(template, "AWS::CloudFront::KeyGroup")
    keys = resources_of_type(template, "AWS::CloudFront::PublicKey")
    assert group["Properties"]["KeyGroupConfig"]["Items"] == [{"Ref": lid} for lid in keys]
    declared = cdk_json_context()["wearit:environments"][env]["cdn"]["public_keys"]
    assert [k["Properties"]["PublicKeyConfig"]["EncodedKey"] for k in keys.values()] == declared
    behavior = distribution_config(templates, env)["DefaultCacheBehavior"]
    assert behavior["TrustedKeyGroups"] == [{"Ref": group_id}]
    assert "TrustedSigners" not in behavior  # the legacy root-account key pairs
    assert template["Outputs"]["CdnKeyGroupId"]["Value"] == {"Ref": group_id}


def test_the_committed_public_keys_hold_no_private_part() -> None:
    for block in cdk_json_context()["wearit:environments"].values():
        for pem in block["cdn"]["public_keys"]:
            assert "PRIVATE" not in pem
            load_pem_public_key(pem.encode())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_cache_key_is_the_path_and_the_version_id_only(templates: Templates, env: str) -> None:
    template = primary_template(templates, env)
    cache_id, cache = only(template, "AWS::CloudFront::CachePolicy")
    config = cache["Properties"]["CachePolicyConfig"]
    assert config["ParametersInCacheKeyAndForwardedToOrigin"] == {
        "CookiesConfig": {"CookieBehavior": "none"},
        "HeadersConfig": {"HeaderBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": ["versionId"]},
        "EnableAcceptEncodingGzip": False,
        "EnableAcceptEncodingBrotli": False,
    }
    assert config["MinTTL"] >= 86400
    assert config["DefaultTTL"] == config["MaxTTL"] == 365 * 86400
    request_id, request = only(template, "AWS::CloudFront::OriginRequestPolicy")
    assert request["Properties"]["OriginRequestPolicyConfig"] | {"Name": None, "Comment": None} == {
        "Name": None,
        "Comment": None,
        "CookiesConfig": {"CookieBehavior": "none"},
        "HeadersConfig": {"HeaderBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": ["versionId"]},
    }
    behavior = distribution_config(templates, env)["DefaultCacheBehavior"]
    assert behavior["CachePolicyId"] == {"Ref": cache_id}
    assert behavior["OriginRequestPolicyId"] == {"Ref": request_id}
    assert "ForwardedValues" not in behavior  # the legacy cache settings, which would win


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_https_only_http2_and_3_tls_1_2(templates: Templates, env: str) -> None:
    config = distribution_config(templates, env)
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    assert config["HttpVersion"] == "http2and3"
    certificate = config["ViewerCertificate"]
    assert certificate["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["SslSupportMethod"] == "sni-only"
    assert "CloudFrontDefaultCertificate" not in certificate  # would force TLSv1
    domain = cdk_json_context()["wearit:environments"][env]["cdn"]["domain_name"]
    assert config["Aliases"] == [domain]
    certificate_id, declared = only(
        primary_template(templates, env), "AWS::CertificateManager::Certificate"
    )
    assert certificate["AcmCertificateArn"] == {"Ref": certificate_id}
    assert declared["Properties"]["DomainName"] == domain
    assert declared["Properties"]["ValidationMethod"] == "DNS"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_responses_carry_nosniff_no_referrer_and_cors_for_the_app_origins(
    templates: Templates, env: str
) -> None:
    policy_id, policy = only(
        primary_template(templates, env), "AWS::CloudFront::ResponseHeadersPolicy"
    )
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    cors = config["CorsConfig"]
    origins = cdk_json_context()["wearit:environments"][env]["cors_origins"]
    assert cors["AccessControlAllowOrigins"] == {"Items": origins}
    assert cors["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD", "OPTIONS"]}
    assert cors["AccessControlAllowCredentials"] is True
    assert cors["OriginOverride"] is True
    behavior = distribution_config(templates, env)["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_data_bucket_lets_only_this_distribution_read_only_the_served_categories(
    templates: Templates, env: str
) -> None:
    template = primary_template(templates, env)
    document = bucket_policy(template, f"wearit-storage-{env}")
    grant = statement(document, "CloudFrontReadsServedImages")
    assert grant["Effect"] == "Allow"
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert sorted(grant["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert set(grant["Resource"]) == object_resources(f"wearit-storage-{env}", SERVED)
    assert grant["Condition"] == {
        "StringEquals": {"AWS:SourceArn": distribution_arn(templates, env)}
    }
    # Nothing else in any policy names CloudFront: body/, temp/ and exports/ stay closed.
    cloudfront = [s for s in document["Statement"] if "cloudfront" in json.dumps(s)]
    assert cloudfront == [grant]
    assert not set(grant["Resource"]) & object_resources(f"wearit-storage-{env}", NOT_SERVED)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_replica_lets_this_accounts_distributions_read_the_served_categories(
    templates: Templates, env: str
) -> None:
    template = templates[f"WearitStorageReplica-{env}"]
    document = bucket_policy(template, f"wearit-storage-{env}-replica")
    grant = statement(document, "CloudFrontReadsServedImages")
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert sorted(grant["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert set(grant["Resource"]) == object_resources(f"wearit-storage-{env}-replica", SERVED)
    account = {"Ref": "AWS::AccountId"}
    assert grant["Condition"] == {
        "StringEquals": {"AWS:SourceAccount": account},
        "ArnLike": {
            "AWS:SourceArn": {
                "Fn::Join": ["", ["arn:aws:cloudfront::", account, ":distribution/*"]]
            }
        },
    }
    # Nothing in the replica stack refers to the primary's distribution.
    assert "Delivery" not in json.dumps(template)


def key_statements(template: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    return [
        s
        for key in resources_of_type(template, "AWS::KMS::Key").values()
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == sid
    ]


def test_in_prod_both_keys_let_cloudfront_decrypt_only_what_s3_decrypts_for_served_images(
    templates: Templates,
) -> None:
    for stack, bucket, source in (
        ("WearitStorage-prod", "wearit-storage-prod", None),
        ("WearitStorageReplica-prod", "wearit-storage-prod-replica", "account"),
    ):
        (grant,) = key_statements(templates[stack], "CloudFrontDecryptsServedImages")
        assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert grant["Action"] == "kms:Decrypt"
        assert grant["Condition"]["StringLike"] == {
            "kms:EncryptionContext:aws:s3:arn": [
                f"arn:aws:s3:::{bucket}",
                *(f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in SERVED),
            ]
        }
        if source is None:
            assert grant["Condition"]["StringEquals"] == {
                "AWS:SourceArn": distribution_arn(templates, "prod")
            }
        else:
            assert set(grant["Condition"]) == {"StringEquals", "ArnLike", "StringLike"}
    # Dev has no customer-managed data key (SSE-S3): nothing to grant.
    assert key_statements(templates["WearitStorage-dev"], "CloudFrontDecryptsServedImages") == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_name_the_domain_the_key_group_and_the_key_ids(
    templates: Templates, env: str
) -> None:
    template = primary_template(templates, env)
    distribution_id, _ = only(template, "AWS::CloudFront::Distribution")
    outputs = template["Outputs"]
    assert outputs["CdnDomainName"]["Value"] == {"Fn::GetAtt": [distribution_id, "DomainName"]}
    assert outputs["CdnDistributionId"]["Value"] == {"Ref": distribution_id}
    keys = resources_of_type(template, "AWS::CloudFront::PublicKey")
    refs = [{"Ref": lid} for lid in keys]
    # One key: its id (Fn::Join of one item is folded away); two: both, comma-separated.
    expected = refs[0] if len(refs) == 1 else {"Fn::Join": [",", refs]}
    assert outputs["CdnPublicKeyIds"]["Value"] == expected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_custom_resource_and_no_edge_function(templates: Templates, env: str) -> None:
    for stack in (f"WearitStorage-{env}", f"WearitStorageReplica-{env}"):
        types = {r["Type"] for r in templates[stack]["Resources"].values()}
        assert not {t for t in types if t.startswith("Custom::")}
        assert "AWS::CloudFormation::CustomResource" not in types
        assert "AWS::CloudFront::Function" not in types
        assert "Transform" not in templates[stack]
    # No Lambda@Edge or CloudFront function on the behaviour (what a cross-region
    # certificate or an EdgeFunction would bring, with their custom resources).
    behavior = distribution_config(templates, env)["DefaultCacheBehavior"]
    assert "LambdaFunctionAssociations" not in behavior
    assert "FunctionAssociations" not in behavior


def test_the_cdn_is_on_in_prod_unless_turned_off_and_off_elsewhere_unless_turned_on() -> None:
    # prod without a cdn block must say how to serve (or "enabled": false)
    with pytest.raises(ConfigError, match=r"cdn\.domain_name' must be"):
        load_environments(environments_with("prod", cdn=None), "prod")
    (prod,) = load_environments(environments_with("prod", cdn={"enabled": False}), "prod")
    assert not prod.cdn.enabled
    (dev,) = load_environments(environments_with("dev", cdn=None), "dev")
    assert not dev.cdn.enabled
    (dev,) = load_environments(environments_with("dev"), "dev")
    assert dev.cdn.enabled
    assert dev.cdn.domain_name == "images.dev.wearit.com"


@pytest.mark.parametrize(
    ("cdn", "message"),
    [
        ({"domain_name": None}, "cdn.domain_name' must be the images' host name"),
        ({"domain_name": "images.wearit.com", "public_keys": []}, "must list 1 or 2 PEM"),
        (
            {"domain_name": "images.wearit.com", "public_keys": ["not a key"]},
            "entry 0 is not an RSA 2048 public key",
        ),
        (
            {"domain_name": "images.wearit.com", "certificate_arn": "arn:aws:acm:eu-west-3:1"},
            "must be an ACM certificate ARN in us-east-1",
        ),
        ({"domain_name": "images.wearit.com", "ttl": 3}, "cdn.ttl' is not a known CDN setting"),
    ],
)
def test_bad_cdn_settings_fail_with_the_key_and_the_fix(cdn: dict[str, Any], message: str) -> None:
    declared = cdk_json_context()["wearit:environments"]["prod"]["cdn"]
    with pytest.raises(ConfigError) as raised:
        load_environments(environments_with("prod", cdn={**declared, **cdn}), "prod")
    assert message in str(raised.value)


def test_the_cdn_refuses_wildcard_cors_origins() -> None:
    with pytest.raises(ConfigError, match="must name each origin"):
        load_environments(environments_with("dev", cors_origins=["*"]), "dev")


def test_two_keys_may_be_trusted_at_once_and_the_same_key_not_twice() -> None:
    declared = cdk_json_context()["wearit:environments"]
    dev_key, prod_key = (declared[e]["cdn"]["public_keys"][0] for e in ("dev", "prod"))
    (prod,) = load_environments(
        environments_with(
            "prod", cdn={**declared["prod"]["cdn"], "public_keys": [prod_key, dev_key]}
        ),
        "prod",
    )
    assert prod.cdn.public_keys == (prod_key, dev_key)
    with pytest.raises(ConfigError, match="the same key twice"):
        load_environments(
            environments_with(
                "prod", cdn={**declared["prod"]["cdn"], "public_keys": [prod_key, prod_key]}
            ),
            "prod",
        )
