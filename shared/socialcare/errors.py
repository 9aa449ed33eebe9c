"""Errors a webhook answers with a 4xx: the platform sent something we must refuse. Anything else that goes
wrong (storage) is a 5xx, so the platform retries."""


class WebhookRejected(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedPayload(WebhookRejected):
    status_code = 400


class InvalidSignature(WebhookRejected):
    status_code = 401


class WrongVerifyToken(WebhookRejected):
    status_code = 403


class UnknownSource(WebhookRejected):
    status_code = 404


class PayloadTooLarge(WebhookRejected):
    status_code = 413


class UnsupportedMediaType(WebhookRejected):
    status_code = 415


class NotConfigured(WebhookRejected):
    # The platform is not set up in the configuration document: refuse rather than accept unverifiable data.
    status_code = 401


class StorageUnavailable(Exception):
    """DynamoDB could not store the delivery; answered with 503 so the platform retries."""
