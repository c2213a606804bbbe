"""The kommo-sandbox package: a local stand-in for Kommo's API v4, for kommo-lead's tests.

It models one account (intermigro): POST /api/v4/leads/unsorted/forms, the
account, custom fields, pipelines, leads (list, search, get, add, update) and
contacts (list, search, get, add), as described in kommo-api.md. It records
every API request it receives and can be told to misbehave (faults, rate
limiting, hostile replies) so clients can test their error paths. Serves http,
or https with --tls-cert. Python 3.11 standard library only. See
docs/sandbox.md.

scripts/kommo-sandbox is its entry point; sandbox.main.main runs it.
"""
