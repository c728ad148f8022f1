"""The private key the SDK signs CDN URLs and cookies with, read from where the settings say.

One of ``WEARIT_CDN_PRIVATE_KEY_FILE`` (a PEM file, e.g. a mounted secret),
``WEARIT_CDN_PRIVATE_KEY_SECRET`` (a Secrets Manager secret holding the PEM) or
``WEARIT_CDN_PRIVATE_KEY_PARAMETER`` (an SSM SecureString holding it). The key is read once,
when a client connects, and lives only in memory: no error message, log line or repr
carries its text, and errors name the variable, never the content.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from wearit_storage.errors import StorageConfigurationError
from wearit_storage.settings import StorageSettings

if TYPE_CHECKING:
    import boto3


def load_private_key(
    settings: StorageSettings, session: boto3.session.Session
) -> rsa.RSAPrivateKey:
    """The RSA private key of ``WEARIT_CDN_KEY_PAIR_ID``; ``session`` reaches Secrets Manager
    or SSM when the key lives there (their endpoints as boto3 resolves them)."""
    variable, pem = _read_pem(settings, session)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # Not the parser's message: it could quote part of the key.
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StorageConfigurationError(
            f"{variable} does not hold an unencrypted RSA private key in PEM: store the key "
            "whose public half is in cdk.json (cdn.public_keys), e.g. from "
            "`openssl genrsa 2048`"
        )
    return key


def _read_pem(settings: StorageSettings, session: boto3.session.Session) -> tuple[str, bytes]:
    if settings.cdn_private_key_file is not None:
        variable = "WEARIT_CDN_PRIVATE_KEY_FILE"
        try:
            return variable, Path(settings.cdn_private_key_file).read_bytes()
        except OSError as exc:
            raise StorageConfigurationError(
                f"{variable}={settings.cdn_private_key_file!r} cannot be read "
                f"({exc.strerror}): mount the key file there or fix the path"
            ) from None
    if settings.cdn_private_key_secret is not None:
        variable = "WEARIT_CDN_PRIVATE_KEY_SECRET"
        secrets: Any = session.client("secretsmanager")
        response = _fetch(
            variable,
            settings.cdn_private_key_secret,
            lambda: secrets.get_secret_value(SecretId=settings.cdn_private_key_secret),
        )
        return variable, str(response.get("SecretString", "")).encode()
    if settings.cdn_private_key_parameter is not None:
        variable = "WEARIT_CDN_PRIVATE_KEY_PARAMETER"
        ssm: Any = session.client("ssm")
        response = _fetch(
            variable,
            settings.cdn_private_key_parameter,
            lambda: ssm.get_parameter(Name=settings.cdn_private_key_parameter, WithDecryption=True),
        )
        return variable, str(response["Parameter"]["Value"]).encode()
    raise StorageConfigurationError(
        "no CDN private key configured: set WEARIT_CDN_PRIVATE_KEY_FILE, "
        "WEARIT_CDN_PRIVATE_KEY_SECRET or WEARIT_CDN_PRIVATE_KEY_PARAMETER"
    )


def _fetch(variable: str, name: str, call: Any) -> Any:
    try:
        return call()
    except (BotoCoreError, ClientError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        raise StorageConfigurationError(
            f"{variable}={name!r} could not be read ({code or type(exc).__name__}): check the "
            "name, and that the role may read it (and decrypt it with its KMS key)"
        ) from exc
