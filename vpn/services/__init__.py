"""Services of the VPN app: every write of business state goes through one of these."""
