"""Reporting: tables, plots and complexity counts from results JSON."""
