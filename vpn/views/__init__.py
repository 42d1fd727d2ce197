"""Views of the VPN app, one module per domain: `requests`, `intake`, `status`, `packs`,
the customer's pages (`customer`) and the public ones (`public`)."""
