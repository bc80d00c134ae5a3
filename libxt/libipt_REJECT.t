:FORWARD,OUTPUT
-j REJECT --reject-with icmp-frag-needed --reject-mtu 1400;=;OK
-j REJECT --reject-with frag-needed --reject-mtu 1400;-j REJECT --reject-with icmp-frag-needed --reject-mtu 1400;OK
-j REJECT --reject-with icmp-frag-needed;=;OK
-j REJECT --reject-with icmp-frag-needed --reject-mtu auto;-j REJECT --reject-with icmp-frag-needed;OK
-j REJECT --reject-with icmp-frag-needed --reject-mtu 68;=;OK
-j REJECT --reject-with icmp-frag-needed --reject-mtu 65535;=;OK
-j REJECT --reject-with icmp-frag-needed --reject-mtu 67;;FAIL
-j REJECT --reject-with icmp-frag-needed --reject-mtu 65536;;FAIL
-j REJECT --reject-with icmp-frag-needed --reject-mtu big;;FAIL
-j REJECT --reject-with icmp-port-unreachable --reject-mtu 1400;;FAIL
-j REJECT --reject-mtu 1400;;FAIL
-j REJECT --reject-with tcp-reset;;FAIL
-p tcp -j REJECT --reject-with tcp-reset;=;OK
:INPUT
-j REJECT --reject-with icmp-frag-needed --reject-mtu 1400;=;OK
-j REJECT --reject-with icmp-frag-needed;;FAIL
