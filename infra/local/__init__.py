"""The local stack of `make run`. Light on purpose: the CLI imports the paths below on every command."""

# The gateway's local-only route answering the running stack's outputs (table name, topic ARN, queue URL,
# secret id): the CLI reads them here instead of re-creating the stack's resources on every command.
OUTPUTS_PATH = "/_local/outputs"
