"""What a config pack says, apart from storing and serving it.

- `contract`: the typed parameters of a pack (validated on construction), the full and
  the redacted copy, their hash, their stored form and the changes between versions.
- `devices`: the vendor registry and the device configurations, rendered strictly.
- `document`: the files of a pack, its zip, and what the PDF template shows.

Nothing here imports the services, the views or the jobs: `vpn.services.packs` stores
versions and renders the PDF through `vpn.pdf`.
"""
