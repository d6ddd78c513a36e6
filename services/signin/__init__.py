"""Sign-in to the web app: one-time links (10 minutes, single use) that become browser sessions.

The identity is a Slack user id. A link is issued by `/countersign web` (a DM) or `countersign web login-link`;
only SHA-256 hashes of links and session tokens are stored, so a database dump signs nobody in.
"""
