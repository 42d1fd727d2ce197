"""Local AWS sandbox: the real EC2 query API (and CloudWatch Logs) on 127.0.0.1, with the VPN
behaviour moto lacks.

The sandbox runs moto's server in-process and adds what a site-to-site VPN portal needs to
exercise without an AWS account: per-tunnel options and outside addresses, the customer
gateway configuration document, static routes, route propagation, tunnel modification,
device sample configurations, AWS-style validation errors, DryRun, delayed state changes,
tunnel endpoint lifecycle control, tunnel logs written to CloudWatch Logs, what an up
tunnel negotiated, and a small JSON control API (``/_sandbox/...``) for tunnel status,
known causes of failure, maintenance, fault injection, call statistics and reset.

Start it with ``python -m sandbox`` (or ``python manage.py aws_sandbox``); from tests use
:class:`sandbox.server.SandboxServer`.
"""
