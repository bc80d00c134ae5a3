:PREROUTING,FORWARD,OUTPUT,POSTROUTING
*mangle
-j CLEARDF;=;OK
-j CLEARDF --min-len 1000;=;OK
-j CLEARDF --random-id;=;OK
-j CLEARDF --min-len 576 --random-id;=;OK
-j CLEARDF --min-len 65536;;FAIL
-j CLEARDF --min-len big;;FAIL
:INPUT
-j CLEARDF;=;OK
*raw
:PREROUTING,OUTPUT
-j CLEARDF --min-len 1400;=;OK
