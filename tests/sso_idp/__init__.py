"""A minimal OpenID Connect identity provider (django-oauth-toolkit) for the single sign-on tests.

Its own Django project, run as a subprocess on loopback by ``harness.IdentityProvider``: never imported
by the proxy or by the suite's settings.
"""
