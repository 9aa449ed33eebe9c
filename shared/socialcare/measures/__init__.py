"""Measures: response times and satisfaction, the surveys that ask for it, and the reports."""
