:PREROUTING,FORWARD,OUTPUT,POSTROUTING
*mangle
-j PREFRAG;-j PREFRAG --mtu auto;OK
-j PREFRAG --mtu auto;=;OK
-j PREFRAG --mtu 1376;=;OK
-j PREFRAG --mtu 68;=;OK
-j PREFRAG --mtu 65535;=;OK
-j PREFRAG --mtu 67;;FAIL
-j PREFRAG --mtu 65536;;FAIL
-j PREFRAG --mtu 0;;FAIL
-j PREFRAG --mtu big;;FAIL
-j PREFRAG --mtu 1376 --df reject;-j PREFRAG --mtu 1376;OK
-j PREFRAG --mtu 1376 --df keep;=;OK
-j PREFRAG --mtu auto --df clear;=;OK
-j PREFRAG --df sometimes;;FAIL
-j PREFRAG --mtu auto --tcp segment;=;OK
-j PREFRAG --mtu 1376 --df clear --tcp segment;=;OK
-j PREFRAG --mtu auto --tcp fragment;-j PREFRAG --mtu auto;OK
-j PREFRAG --tcp segment --df keep;-j PREFRAG --mtu auto --df keep --tcp segment;OK
-j PREFRAG --tcp always;;FAIL
:INPUT
-j PREFRAG --mtu auto;;FAIL
*raw
:PREROUTING,OUTPUT
-j PREFRAG --mtu 1376 --df clear;=;OK
*filter
:FORWARD,OUTPUT
-j PREFRAG --mtu auto;=;OK
:INPUT
-j PREFRAG --mtu auto;;FAIL
