"""People: agents, their shifts, and the team pages where everyone signs in."""
