"""The test topologies, built from namespaces inside the guest.

    ha ---- ra ==== ESP tunnel mode ==== rb ---- hb
    10.0.1.2  .1   10.0.2.1 - mid - 10.0.3.1  .1  10.0.4.2
                   (mid forwards, drops every IP fragment)

ra and rb are IPsec gateways with static keys (rfc4106(gcm(aes))); the SAs
cover 10.0.1.0/24 <-> 10.0.4.0/24.  ra also owns 10.0.1.1, a "tunnel
address" for traffic it sends into the tunnel itself (as a VPN client's
virtual IP).
"""
from nettest import Netns, veth

KEY_AB = "0x" + "11" * 20
KEY_BA = "0x" + "22" * 20
MTU = 1500


class Tunnel:
    HA, RA_IN, RA_OUT, MID_A, MID_B, RB_OUT, RB_IN, HB = (
        "10.0.1.2", "10.0.1.1", "10.0.2.1", "10.0.2.2",
        "10.0.3.2", "10.0.3.1", "10.0.4.1", "10.0.4.2")

    def __init__(self, prefix="t", mode="tunnel", drop_fragments=True):
        self.mode = mode
        n = self.ns = {}
        for name in ("ha", "ra", "mid", "rb", "hb"):
            n[name] = Netns(f"{prefix}-{name}")
        self.ha, self.ra, self.mid, self.rb, self.hb = (
            n["ha"], n["ra"], n["mid"], n["rb"], n["hb"])
        veth(self.ha, "eth0", self.ra, "eth0")
        veth(self.ra, "eth1", self.mid, "eth0")
        veth(self.mid, "eth1", self.rb, "eth1")
        veth(self.rb, "eth0", self.hb, "eth0")
        self.ha.sh(f"ip addr add {self.HA}/24 dev eth0 && "
                   f"ip route add default via {self.RA_IN}")
        self.hb.sh(f"ip addr add {self.HB}/24 dev eth0 && "
                   f"ip route add default via {self.RB_IN}")
        self.mid.sh(f"ip addr add {self.MID_A}/24 dev eth0 && "
                    f"ip addr add {self.MID_B}/24 dev eth1")
        self.ra.sh(f"ip addr add {self.RA_IN}/24 dev eth0 && "
                   f"ip addr add {self.RA_OUT}/24 dev eth1 && "
                   f"ip route add 10.0.3.0/24 via {self.MID_A} && "
                   f"ip route add 10.0.4.0/24 via {self.MID_A} src {self.RA_IN}")
        self.rb.sh(f"ip addr add {self.RB_IN}/24 dev eth0 && "
                   f"ip addr add {self.RB_OUT}/24 dev eth1 && "
                   f"ip route add 10.0.2.0/24 via {self.MID_B} && "
                   f"ip route add 10.0.1.0/24 via {self.MID_B} src {self.RB_IN}")
        for r in (self.ra, self.mid, self.rb):
            r.sysctl("net.ipv4.ip_forward", 1)
        self._ipsec(self.ra, self.RA_OUT, self.RB_OUT, "10.0.1.0/24",
                    "10.0.4.0/24", 0x100, 0x200, KEY_AB, KEY_BA)
        self._ipsec(self.rb, self.RB_OUT, self.RA_OUT, "10.0.4.0/24",
                    "10.0.1.0/24", 0x200, 0x100, KEY_BA, KEY_AB)
        if drop_fragments:
            # A path that drops IP fragments, as many middleboxes do.  nft
            # without conntrack: fragments are seen as they are.
            self.mid.sh("nft -f -", input=(
                "table ip mid {\n chain drop_fragments {\n"
                "  type filter hook forward priority 0;\n"
                "  ip frag-off & 0x3fff != 0 counter drop\n }\n}\n"))

    def _ipsec(self, r, me, peer, local, remote, spi_out, spi_in, key_out, key_in):
        m = self.mode
        if m == "tunnel":
            sel_out, sel_in = f"src {local} dst {remote}", f"src {remote} dst {local}"
        else:  # transport: protect the gateways' own traffic and nothing else
            sel_out, sel_in = f"src {me} dst {peer}", f"src {peer} dst {me}"
        aead = "aead 'rfc4106(gcm(aes))'"
        r.sh(f"""
ip xfrm state add src {me} dst {peer} proto esp spi {spi_out} reqid 1 mode {m} {aead} {key_out} 128
ip xfrm state add src {peer} dst {me} proto esp spi {spi_in} reqid 2 mode {m} {aead} {key_in} 128
ip xfrm policy add {sel_out} dir out tmpl src {me} dst {peer} proto esp reqid 1 mode {m}
ip xfrm policy add {sel_in} dir in tmpl src {peer} dst {me} proto esp reqid 2 mode {m}
""" + (f"ip xfrm policy add {sel_in} dir fwd tmpl src {peer} dst {me} proto esp reqid 2 mode {m}\n"
       if m == "tunnel" else ""))

    def fragments_dropped(self):
        out = self.mid.sh("nft list chain ip mid drop_fragments")
        for line in out.splitlines():
            if "counter packets" in line:
                return int(line.split("packets")[1].split()[0])
        return 0

    def routers(self):
        return (self.ra, self.rb)

    def flush_rules(self):
        for r in self.routers():
            r.sh("for t in raw mangle filter nat; do iptables-legacy -t $t -F; done; "
                 "conntrack -F >/dev/null 2>&1; true")
        # Forget learnt path MTUs everywhere: each test starts afresh.
        for h in (self.ha, self.hb, self.ra, self.rb):
            h.sh("ip route flush cache")

    def delete(self):
        for n in self.ns.values():
            n.delete()
