"""Replies: the reply page (flow and view), answers by text and by email, and the sender that posts once."""
