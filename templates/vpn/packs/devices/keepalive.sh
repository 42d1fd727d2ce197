#!/bin/sh
# {{ reference }} - config pack v{{ version }} - tunnel keep-alive
#
# AWS never starts these tunnels ({{ ike_label }}, startup action {{ ipsec.startup_action }}): your side brings
# them up by sending traffic, and keeps them up. This script sends one ping every
# {{ keepalive.interval_seconds }} seconds into the platform VPC ({{ vpc_cidr }}) so that traffic always flows.
# Replies are not needed: the packets crossing the tunnel are what keeps it up.
#
# Run it on a host in one of your {% if static %}subnets routed through the VPN{% if customer_subnets %} ({{ customer_subnets|join(", ") }}){% endif %}{% else %}networks you advertise to AWS{% if advertised_prefixes %} ({{ advertised_prefixes|map(attribute="cidr")|join(", ") }}){% endif %}{% endif %},
# for ever, and start it again at boot, for example:
#   nohup sh keepalive.sh >/dev/null 2>&1 &
#   crontab: @reboot /bin/sh /path/to/keepalive.sh >/dev/null 2>&1
#
# Usage: keepalive.sh [TARGET] [INTERVAL]
set -u

TARGET="${1:-{{ keepalive.target }}}"
INTERVAL="${2:-{{ keepalive.interval_seconds }}}"

while :; do
    ping -c 1 -W 2 "$TARGET" >/dev/null 2>&1
    sleep "$INTERVAL"
done
