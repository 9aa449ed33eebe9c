"""The `threads` section of the configuration document (the Threads app and the brand's Threads account)."""

from pydantic import ConfigDict

from socialcare.modeling import Model

SECTION = "threads"


class ThreadsConfig(Model):
    model_config = ConfigDict(extra="ignore")

    app_secret: str = ""  # the Threads app's secret: signs every webhook delivery
    verify_token: str = ""  # echoed in the webhook's GET subscription check
    user_id: str = ""  # the brand's Threads user id: replies are created and published under it
    username: str = ""  # the brand's username: its own replies come back through the webhook
    access_token: str = ""  # a long-lived Threads user token (threads_basic, threads_manage_replies)
    api_base: str = "https://graph.threads.net/v1.0"
