"""Images served from the edge: one CloudFront distribution in front of both private buckets.

- **Origins**: the data bucket and the replica bucket, each reached through an origin access
  control that signs every request with SigV4; they form an origin group that fails over
  to the replica on 500, 502, 503 and 504 (S3 keeps version ids when it replicates, so a
  version-pinned URL finds the same bytes there).
- **Signed access only**: the one cache behaviour trusts a key group made of the public
  keys in ``cdk.json``; a request without a valid signed URL or signed cookies is refused
  at the edge.
- **Cache**: the key is the path and the ``versionId`` query string, nothing else (no
  cookies, no headers, not the signature's own parameters), with long TTLs: a version
  never changes, and a new upload is a new version, so a new URL.
- **Only the served categories**: the bucket policies let CloudFront read ``clothing/``,
  ``avatars/`` and ``tryon/``. Body photos are never served through the CDN: their
  presigned S3 links live 5 minutes, and no edge location ever holds a copy.

Plain CloudFormation only: every resource is declared here (the origins name the buckets
by their regional domain names, literal strings), so nothing needs a cross-region
reference, a custom resource or a Lambda function; the distribution lives in the primary
region (us-east-1, where CloudFront reads certificates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.compliance import acknowledge_edge_distribution
from cdk.config import CdnSettings, EnvironmentConfig
from cdk.prefixes import CDN_PREFIXES

#: What makes the origin group fail over to the replica: the primary region's S3 failing.
FAILOVER_STATUS_CODES = (500, 502, 503, 504)
#: The one query string in the cache key and the origin request (OAC then needs
#: ``s3:GetObjectVersion``).
VERSION_QUERY_STRING = "versionId"
#: A version's bytes never change: cached for a year, and at least a day whatever S3 says.
CACHE_TTL = Duration.days(365)
CACHE_MIN_TTL = Duration.days(1)
MINIMUM_VIEWER_TLS = "TLSv1.2_2021"
#: Browsers keep a version-pinned image as long as the URL they know it by.
BROWSER_CACHE_CONTROL = "private, max-age=31536000, immutable"
CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
PRIMARY_ORIGIN_ID = "primary"
REPLICA_ORIGIN_ID = "replica"
ORIGIN_GROUP_ID = "primary-then-replica"


def distribution_arn_pattern(account: str, partition: str = "aws") -> str:
    """Every distribution of ``account``: what the replica region can name (see
    :func:`cloudfront_reads`)."""
    return f"arn:{partition}:cloudfront::{account}:distribution/*"


def cloudfront_reads(
    bucket_arn: str, *, distribution_arn: str | None = None, account: str | None = None
) -> iam.PolicyStatement:
    """Bucket-policy statement: CloudFront may read the served categories, for one
    distribution (``distribution_arn``) or, where its id cannot be known (the replica's
    region), for the distributions of ``account`` only."""
    return iam.PolicyStatement(
        sid="CloudFrontReadsServedImages",
        principals=[iam.ServicePrincipal(CLOUDFRONT_SERVICE)],
        actions=list(READ_ACTIONS),
        resources=[f"{bucket_arn}/{prefix}*" for prefix in CDN_PREFIXES],
        conditions=_source_condition(distribution_arn, account),
    )


def cloudfront_decrypts(
    bucket_arn: str, *, distribution_arn: str | None = None, account: str | None = None
) -> iam.PolicyStatement:
    """Key-policy statement: CloudFront may decrypt, only what S3 decrypts for the served
    categories of ``bucket_arn`` (S3 alone sets the ``aws:s3:arn`` encryption context)."""
    conditions = _source_condition(distribution_arn, account)
    conditions.setdefault("StringLike", {})["kms:EncryptionContext:aws:s3:arn"] = [
        # With S3 Bucket Keys the context is the bucket ARN, without them the object ARN.
        bucket_arn,
        *(f"{bucket_arn}/{prefix}*" for prefix in CDN_PREFIXES),
    ]
    return iam.PolicyStatement(
        sid="CloudFrontDecryptsServedImages",
        principals=[iam.ServicePrincipal(CLOUDFRONT_SERVICE)],
        actions=["kms:Decrypt"],
        resources=["*"],  # in a key policy, "*" is this key
        conditions=conditions,
    )


def _source_condition(
    distribution_arn: str | None, account: str | None
) -> dict[str, dict[str, object]]:
    if distribution_arn is not None:
        return {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    if account is None:
        raise ValueError("name the distribution, or the account whose distributions may read")
    return {
        "StringEquals": {"AWS:SourceAccount": account},
        "ArnLike": {"AWS:SourceArn": distribution_arn_pattern(account)},
    }


def public_key_id(pem: str) -> str:
    """The construct id of a public key, from its content: adding or removing the other key
    of a rotation never replaces this one (its id is the SDK's ``WEARIT_CDN_KEY_PAIR_ID``)."""
    return f"PublicKey{hashlib.sha256(pem.encode()).hexdigest()[:12]}"


class ImageDelivery(Construct):
    """The distribution, its policies and key group. ``distribution_arn`` is what the data
    bucket's and key's policies name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: CdnSettings,
        name: str,
        primary_bucket_name: str,
        primary_region: str,
        replica_bucket_name: str,
        replica_region: str,
        cors_origins: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        if settings.domain_name is None:
            raise ValueError("an enabled CDN has a domain name (cdk/config.py checks it)")
        stack = Stack.of(self)

        self.public_keys = [
            cloudfront.PublicKey(
                self,
                public_key_id(pem),
                encoded_key=pem,
                comment=f"{name}: verifies the SDK's signed URLs and cookies",
            )
            for pem in settings.public_keys
        ]
        self.key_group = cloudfront.KeyGroup(
            self,
            "KeyGroup",
            key_group_name=f"{name}-signers",
            items=self.public_keys,
            comment="The keys whose signatures the image CDN accepts (two while rotating)",
        )
        self.cache_policy = cloudfront.CachePolicy(
            self,
            "CachePolicy",
            cache_policy_name=f"{name}-version-pinned",
            comment="Path + versionId only: a version's bytes never change",
            default_ttl=CACHE_TTL,
            max_ttl=CACHE_TTL,
            min_ttl=CACHE_MIN_TTL,
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(
                VERSION_QUERY_STRING
            ),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=False,  # JPEGs do not compress
            enable_accept_encoding_brotli=False,
        )
        self.origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "OriginRequestPolicy",
            origin_request_policy_name=f"{name}-version-to-s3",
            comment="Sends S3 the versionId (GetObject of that version), nothing else",
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.allow_list(
                VERSION_QUERY_STRING
            ),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "ResponseHeadersPolicy",
            response_headers_policy_name=f"{name}-images",
            comment="nosniff, no referrer, HSTS, CORS for the app's origins (with cookies)",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), override=True
                ),
            ),
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_origins=list(cors_origins),
                access_control_allow_methods=["GET", "HEAD", "OPTIONS"],
                access_control_allow_headers=["Range"],  # a simple GET needs none
                # Signed cookies travel with credentialed requests only.
                access_control_allow_credentials=True,
                access_control_max_age=Duration.seconds(3000),
                origin_override=True,
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Cache-Control", value=BROWSER_CACHE_CONTROL, override=True
                    )
                ]
            ),
        )
        self.origin_access_control = cloudfront.CfnOriginAccessControl(
            self,
            "OriginAccessControl",
            origin_access_control_config=cloudfront.CfnOriginAccessControl.OriginAccessControlConfigProperty(
                name=f"{name}-buckets",
                description="CloudFront signs every request to the data and replica buckets",
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
            ),
        )
        certificate_arn = settings.certificate_arn
        if certificate_arn is None:
            certificate_arn = acm.Certificate(
                self,
                "Certificate",
                domain_name=settings.domain_name,
                validation=acm.CertificateValidation.from_dns(),
            ).certificate_arn

        distribution = cloudfront.CfnDistribution(
            self,
            "Distribution",
            distribution_config=cloudfront.CfnDistribution.DistributionConfigProperty(
                enabled=True,
                comment=f"{name}: signed, version-pinned images",
                aliases=[settings.domain_name],
                http_version="http2and3",
                ipv6_enabled=True,
                viewer_certificate=cloudfront.CfnDistribution.ViewerCertificateProperty(
                    acm_certificate_arn=certificate_arn,
                    ssl_support_method="sni-only",
                    minimum_protocol_version=MINIMUM_VIEWER_TLS,
                ),
                origins=[
                    self._origin(PRIMARY_ORIGIN_ID, primary_bucket_name, primary_region),
                    self._origin(REPLICA_ORIGIN_ID, replica_bucket_name, replica_region),
                ],
                origin_groups=cloudfront.CfnDistribution.OriginGroupsProperty(
                    quantity=1,
                    items=[
                        cloudfront.CfnDistribution.OriginGroupProperty(
                            id=ORIGIN_GROUP_ID,
                            failover_criteria=cloudfront.CfnDistribution.OriginGroupFailoverCriteriaProperty(
                                status_codes=cloudfront.CfnDistribution.StatusCodesProperty(
                                    quantity=len(FAILOVER_STATUS_CODES),
                                    items=list(FAILOVER_STATUS_CODES),
                                )
                            ),
                            members=cloudfront.CfnDistribution.OriginGroupMembersProperty(
                                quantity=2,
                                items=[
                                    cloudfront.CfnDistribution.OriginGroupMemberProperty(
                                        origin_id=PRIMARY_ORIGIN_ID
                                    ),
                                    cloudfront.CfnDistribution.OriginGroupMemberProperty(
                                        origin_id=REPLICA_ORIGIN_ID
                                    ),
                                ],
                            ),
                        )
                    ],
                ),
                default_cache_behavior=cloudfront.CfnDistribution.DefaultCacheBehaviorProperty(
                    target_origin_id=ORIGIN_GROUP_ID,
                    # Not a redirect: the signed URL would already have crossed in clear.
                    viewer_protocol_policy="https-only",
                    allowed_methods=["GET", "HEAD", "OPTIONS"],
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=self.cache_policy.cache_policy_id,
                    origin_request_policy_id=self.origin_request_policy.origin_request_policy_id,
                    response_headers_policy_id=self.response_headers_policy.response_headers_policy_id,
                    trusted_key_groups=[self.key_group.key_group_id],
                    compress=False,
                ),
            ),
        )
        acknowledge_edge_distribution(distribution)
        self.distribution = distribution
        self.distribution_arn = stack.format_arn(
            service="cloudfront",
            region="",
            resource="distribution",
            resource_name=distribution.ref,
        )

    def _origin(
        self, origin_id: str, bucket_name: str, region: str
    ) -> cloudfront.CfnDistribution.OriginProperty:
        # The regional domain name as a literal: no reference to the bucket resource, so
        # the data key's policy can name this distribution without a dependency cycle, and
        # the replica (another region, another stack) needs no cross-region reference.
        return cloudfront.CfnDistribution.OriginProperty(
            id=origin_id,
            domain_name=f"{bucket_name}.s3.{region}.amazonaws.com",
            origin_access_control_id=self.origin_access_control.attr_id,
            # OAC replaces the legacy identity, which must still be declared empty.
            s3_origin_config=cloudfront.CfnDistribution.S3OriginConfigProperty(
                origin_access_identity=""
            ),
        )


def serve_images(
    stack: Stack,
    config: EnvironmentConfig,
    *,
    bucket: s3.Bucket,
    bucket_arn: str,
    key: kms.Key | None,
) -> ImageDelivery:
    """The primary stack's part: the distribution, the data bucket's and key's grants to
    it, and the outputs the SDK is configured from."""
    delivery = ImageDelivery(
        stack,
        "Delivery",
        settings=config.cdn,
        name=config.bucket_name,
        primary_bucket_name=config.bucket_name,
        primary_region=config.region,
        replica_bucket_name=config.replica_bucket_name,
        replica_region=config.replica_region,
        cors_origins=config.cors_origins,
    )
    arn = delivery.distribution_arn
    bucket.add_to_resource_policy(cloudfront_reads(bucket_arn, distribution_arn=arn))
    if key is not None:
        key.add_to_resource_policy(cloudfront_decrypts(bucket_arn, distribution_arn=arn))
    CfnOutput(stack, "CdnDomainName", value=delivery.distribution.attr_domain_name)
    CfnOutput(stack, "CdnDistributionId", value=delivery.distribution.ref)
    CfnOutput(stack, "CdnKeyGroupId", value=delivery.key_group.key_group_id)
    CfnOutput(
        stack,
        "CdnPublicKeyIds",
        description="WEARIT_CDN_KEY_PAIR_ID: the id of the key the SDK signs with",
        value=Fn.join(",", [public_key.public_key_id for public_key in delivery.public_keys]),
    )
    return delivery


def let_cloudfront_read_replica(
    stack: Stack, *, bucket: s3.Bucket, bucket_arn: str, key: kms.Key | None
) -> None:
    """The replica stack's part. The distribution is created later, in another region, so
    its id is unknown here: the grant names this account's distributions instead."""
    bucket.add_to_resource_policy(cloudfront_reads(bucket_arn, account=stack.account))
    if key is not None:
        key.add_to_resource_policy(cloudfront_decrypts(bucket_arn, account=stack.account))
