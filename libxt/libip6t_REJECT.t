:FORWARD,OUTPUT
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1400;=;OK
-j REJECT --reject-with pkt-too-big --reject-mtu 1400;-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1400;OK
-j REJECT --reject-with icmp6-pkt-too-big;=;OK
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu auto;-j REJECT --reject-with icmp6-pkt-too-big;OK
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1280;=;OK
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1279;;FAIL
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 65536;;FAIL
-j REJECT --reject-with icmp6-no-route --reject-mtu 1400;;FAIL
:INPUT
-j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1400;=;OK
-j REJECT --reject-with icmp6-pkt-too-big;;FAIL
