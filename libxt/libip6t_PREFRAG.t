:PREROUTING,FORWARD,OUTPUT,POSTROUTING
*mangle
-j PREFRAG;-j PREFRAG --mtu auto;OK
-j PREFRAG --mtu auto;=;OK
-j PREFRAG --mtu 1280;=;OK
-j PREFRAG --mtu 65535;=;OK
-j PREFRAG --mtu 1279;;FAIL
-j PREFRAG --df clear;;FAIL
:INPUT
-j PREFRAG --mtu auto;;FAIL
*raw
:OUTPUT
-j PREFRAG --mtu 1400;=;OK
