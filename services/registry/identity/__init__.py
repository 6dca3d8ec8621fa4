"""Identity: accounts, password login, access and refresh tokens, partner OAuth clients.

The registry is the platform's only token issuer (DESIGN.md §4). People log in with their
mobile number and a password; partner platforms use OAuth2 client credentials. Access tokens
are short-lived EdDSA JWTs every process verifies on its own; refresh tokens are opaque,
stored only as hashes, rotate on every use and are revoked as a family when reused.
"""
