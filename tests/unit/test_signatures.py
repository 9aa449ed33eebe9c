"""The platforms' published test vectors (../shared/platform-contracts.md)."""

from socialcare.signatures import matches, sha256_base64, sha256_hex, standard_webhooks_signature


def test_x_signature_vectors() -> None:
    assert (
        sha256_base64("test", b"test=1&other_test=2") == "sha256=25Cu3iwbbiqBTwQRzcKJZwisjf736V2Q8UaTlkfLSoc="
    )
    assert (
        sha256_base64("test", b'{"test_number":1,"test_string":"two"}')
        == "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="
    )


def test_meta_signature_vector() -> None:
    assert (
        sha256_hex("It's a Secret to Everybody", b"Hello, World!")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_standard_webhooks_vector() -> None:
    signature = standard_webhooks_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_matches_refuses_missing_and_different_values() -> None:
    assert matches("sha256=abc", " sha256=abc ")
    assert not matches("sha256=abc", None)
    assert not matches("sha256=abc", "")
    assert not matches("", "")
    assert not matches("sha256=abc", "sha256=abd")
