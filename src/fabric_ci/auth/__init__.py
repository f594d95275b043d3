"""Signing in: msal and the credential sources."""
