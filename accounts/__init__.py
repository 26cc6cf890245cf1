"""Accounts: organisations, users, roles, API tokens, sessions and login."""
