"""The local stack moves the dev configuration's platform URLs to wherever the simulator really listens, and
only those that point at the simulator's default address."""

from typing import Any

from infra.simulator.server import point_at_simulator


def test_urls_at_the_default_address_follow_the_simulator(dev_config: dict[str, Any]) -> None:
    moved = point_at_simulator(dev_config, "http://127.0.0.1:45123")
    assert moved["x"]["api_base"] == "http://127.0.0.1:45123"
    assert moved["meta"]["graph_base"] == "http://127.0.0.1:45123/v21.0"
    assert moved["sources"]["reviews"]["reply_url"] == "http://127.0.0.1:45123/sources/reviews/replies"
    assert moved["google_reviews"]["token_url"] == "http://127.0.0.1:45123/google-oauth/token"
    assert moved["x"]["bearer_token"] == dev_config["x"]["bearer_token"], "nothing else changes"
    assert dev_config["x"]["api_base"] == "http://127.0.0.1:4000", "the given document is left alone"


def test_urls_pointing_elsewhere_are_left_alone(dev_config: dict[str, Any]) -> None:
    dev_config["x"]["api_base"] = "https://api.x.com"
    dev_config["meta"]["graph_base"] = "http://127.0.0.1:4001/v21.0"
    dev_config["sources"]["reviews"]["reply_url"] = "https://127.0.0.1:4000/sources/reviews/replies"
    dev_config["threads"]["api_base"] = "https://graph.threads.net/v1.0"
    dev_config["google_reviews"]["api_base"] = "https://mybusiness.googleapis.com/v4"
    dev_config["google_reviews"]["token_url"] = "https://oauth2.googleapis.com/token"
    for name, feed in dev_config["feeds"].items():
        feed["url"] = f"https://blogs.example/{name}.xml"
    moved = point_at_simulator(dev_config, "http://127.0.0.1:45123")
    assert moved == dev_config


def test_the_default_port_changes_nothing(dev_config: dict[str, Any]) -> None:
    assert point_at_simulator(dev_config, "http://127.0.0.1:4000") == dev_config
