#!/bin/sh
# Our rules for the selftests' namespaces: every action, in every chain it
# is allowed in, from iptables and nft, behind a mark nobody sets; and
# PREFRAG on every packet, with an MTU no packet reaches.  The selftests
# must not be able to tell.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
for v in 4 6; do
	if [ $v = 4 ]; then
		cmd=iptables-legacy-restore reject=icmp-frag-needed df="--df reject"
	else
		cmd=ip6tables-legacy-restore reject=icmp6-pkt-too-big df=""
	fi
	$cmd <<-RULES
	*mangle
	-A PREROUTING -m mark --mark 0x5eed -j PREFRAG --mtu auto --tcp segment
	-A FORWARD -m mark --mark 0x5eed -j PREFRAG --mtu 1280 $df
	-A OUTPUT -m mark --mark 0x5eed -j PREFRAG --mtu auto
	-A POSTROUTING -m mark --mark 0x5eed -j PREFRAG --mtu auto
	-A POSTROUTING -j PREFRAG --mtu 65535
	COMMIT
	*filter
	-A INPUT -m mark --mark 0x5eed -j REJECT --reject-with $reject --reject-mtu 1280
	-A FORWARD -m mark --mark 0x5eed -j REJECT --reject-with $reject
	COMMIT
	RULES
done
iptables-legacy -t mangle -A PREROUTING -m mark --mark 0x5eed -j CLEARDF
iptables-legacy -t mangle -A OUTPUT -m mark --mark 0x5eed -j PREFRAG --mtu auto --df clear
"$top/build/nft/nft-prefrag" -f - <<-NFT
table inet nf_prefrag_selftest {
	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		meta nfproto ipv4 meta mark 0x5eed prefrag mtu auto df clear
		meta mark 0x5eed prefrag mtu 1280 tcp segment
		prefrag mtu 65535
	}
	chain forwarded {
		type filter hook forward priority filter; policy accept;
		meta nfproto ipv4 meta mark 0x5eed cleardf
		meta nfproto ipv4 meta mark 0x5eed reject with icmp frag-needed mtu 1280
		meta nfproto ipv6 meta mark 0x5eed reject with icmpv6 too-big mtu auto
	}
}
NFT
