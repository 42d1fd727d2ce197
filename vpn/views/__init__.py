"""Views of the VPN app: staff pages (`staff`) and public ones (`public`)."""
