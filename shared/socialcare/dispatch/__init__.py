"""Dispatch: who hears about a mention and how soon; the assignment, the texts and emails, escalation."""
