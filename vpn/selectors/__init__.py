"""Reads for the pages and commands, one module per domain.

`requests` (the dashboard, a request's page and history), `intake` (the review queue,
customer links, region advice, duplicates, the stored answers), `provisioning` (the
five setup steps), `status` (tunnel health, uptime, the status JSON), `packs` (config
pack versions and downloads), `diagnosis` (a tunnel's trouble in words, what it
negotiated, its log events) and `maintenance` (AWS's pending maintenance, the
customer's window). Import the domain's module: nothing is re-exported here.
"""
