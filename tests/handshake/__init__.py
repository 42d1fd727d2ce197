"""A real IPsec handshake between the config pack's strongSwan file and an AWS-side
responder, each charon in a network namespace of its own."""
