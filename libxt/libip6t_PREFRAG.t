:PREROUTING,FORWARD,OUTPUT,POSTROUTING
*mangle
-j PREFRAG;-j PREFRAG --mtu auto;OK
-j PREFRAG --mtu auto;=;OK
-j PREFRAG --mtu 1280;=;OK
-j PREFRAG --mtu 65535;=;OK
-j PREFRAG --mtu 1279;;FAIL
-j PREFRAG --df clear;;FAIL
-j PREFRAG --mtu auto --tcp segment;=;OK
-j PREFRAG --mtu 1400 --tcp fragment;-j PREFRAG --mtu 1400;OK
:INPUT
-j PREFRAG --mtu auto;;FAIL
*raw
:OUTPUT
-j PREFRAG --mtu 1400;=;OK
