"""The test topologies, built from namespaces inside the guest.

Both share a host behind each of two IPsec gateways, and the path between
the gateways:

    ra ==== ESP ==== mid ==== ESP ==== rb
    10.0.2.1    10.0.2.2 - 10.0.3.2    10.0.3.1

mid forwards, and can drop every IP fragment as many middleboxes do.

Tunnel: hosts on routed subnets, tunnel-mode (or transport-mode) SAs.

    ha ---- ra ==== ESP ==== rb ---- hb
    10.0.1.2  .1             .1  10.0.4.2

  The tunnel-mode SAs cover 10.0.1.0/24 <-> 10.0.4.0/24 (and with ipv6,
  fd00:1::/64 <-> fd00:4::/64 too: ra fd00:1::1, hb fd00:4::2).  ra also owns
  10.0.1.1, a "tunnel address" for traffic it sends into the tunnel itself
  (as a VPN client's virtual IP).  Transport-mode SAs cover the gateways'
  own traffic.  Or no keys at all: an IKE daemon keys the tunnel
  (tests/lib/ike.py).

RouteBased: the Tunnel's hosts and subnets, behind a route-based VPN: each
gateway routes the far subnet to a device, an xfrm interface (if_id 42) or
a VTI (key 42, the SAs' mark), left at its default MTU of 1500; SAs and
policies carry the if_id or the mark, and match any traffic.

Bridge: one Ethernet segment over two sites, gretap over IPsec.

    ha ---- [br0: eth0 + gt0] ra ==== GRE in ESP ==== rb [gt0 + eth0: br0] ---- hb
    10.0.9.1                                                            10.0.9.2

  gt0 is `gretap nopmtudisc ignore-df` with MTU 1500, so hosts keep MTU 1500
  and full-size frames make GRE packets bigger than the path MTU.  The SAs
  (tunnel or transport mode) protect GRE between the gateways.
"""
from nettest import Netns, veth

KEY_AB = "0x" + "11" * 20
KEY_BA = "0x" + "22" * 20
MTU = 1500


class Gateways:
    RA_OUT, MID_A, MID_B, RB_OUT = "10.0.2.1", "10.0.2.2", "10.0.3.2", "10.0.3.1"
    RA_OUT6, MID_A6, MID_B6, RB_OUT6 = "fd00:2::1", "fd00:2::2", "fd00:3::2", "fd00:3::1"

    def __init__(self, prefix, drop_fragments, here=(), underlay6=False):
        """here: the roles (say "ra") this system itself plays, in its own
        namespace, with the rules it booted with.  underlay6: ESP between
        the gateways' IPv6 addresses (the path has both families; mid
        drops the fragments of both)."""
        self.out_a, self.out_b = ((self.RA_OUT6, self.RB_OUT6) if underlay6 else
                                  (self.RA_OUT, self.RB_OUT))
        n = self.ns = {}
        for name in ("ha", "ra", "mid", "rb", "hb"):
            n[name] = Netns(f"{prefix}-{name}", here=name in here)
        self.ha, self.ra, self.mid, self.rb, self.hb = (
            n["ha"], n["ra"], n["mid"], n["rb"], n["hb"])
        veth(self.ha, "eth0", self.ra, "eth0")
        veth(self.rb, "eth0", self.hb, "eth0")
        veth(self.ra, "eth1", self.mid, "eth0")
        veth(self.mid, "eth1", self.rb, "eth1")
        families = [(self.MID_A, self.MID_B, self.RA_OUT, self.RB_OUT,
                     "10.0.2.0/24", "10.0.3.0/24", 24, "ip", "")]
        if underlay6:
            families.append((self.MID_A6, self.MID_B6, self.RA_OUT6, self.RB_OUT6,
                             "fd00:2::/64", "fd00:3::/64", 64, "ip -6", " nodad"))
        for mid_a, mid_b, ra, rb, net_a, net_b, plen, ip, opt in families:
            self.mid.sh(f"ip addr add {mid_a}/{plen} dev eth0{opt} && "
                        f"ip addr add {mid_b}/{plen} dev eth1{opt}")
            self.ra.sh(f"ip addr add {ra}/{plen} dev eth1{opt} && "
                       f"{ip} route add {net_b} via {mid_a}")
            self.rb.sh(f"ip addr add {rb}/{plen} dev eth1{opt} && "
                       f"{ip} route add {net_a} via {mid_b}")
        self.mid.sysctl("net.ipv4.ip_forward", 1)
        if underlay6:
            self.mid.sysctl("net.ipv6.conf.all.forwarding", 1)
        # nft without conntrack: fragments are seen as they are.
        self.mid.sh("nft -f -", input=(
            "table ip mid {\n chain drop_fragments {\n"
            "  type filter hook forward priority 0;\n }\n}\n"
            "table ip6 mid {\n chain drop_fragments {\n"
            "  type filter hook forward priority 0;\n }\n}\n"))
        self.drop_fragments(drop_fragments)

    def drop_fragments(self, on):
        """Make the path between the gateways drop IP fragments, or pass them."""
        rule = ("add rule ip mid drop_fragments ip frag-off & 0x3fff != 0 counter drop\n"
                "add rule ip6 mid drop_fragments exthdr frag exists counter drop\n") if on else ""
        self.mid.sh("nft -f -", input="flush chain ip mid drop_fragments\n"
                    "flush chain ip6 mid drop_fragments\n" + rule)

    def fragments_dropped(self):
        n = 0
        for family in ("ip", "ip6"):
            for line in self.mid.sh(f"nft list chain {family} mid drop_fragments").splitlines():
                if "counter packets" in line:
                    n += int(line.split("packets")[1].split()[0])
        return n

    def ipsec(self, mode, selector_ab, selector_ba, forward=False):
        """ESP with static keys (rfc4106(gcm(aes))) between ra and rb for
        traffic matching selector_ab (ra -> rb) and selector_ba.  The SAs
        carry inner packets of either family (af-unspec), so more policies
        may use them (Tunnel's IPv6 subnets)."""
        self.mode = mode
        for r, me, peer, sel_out, sel_in, spi_out, spi_in, key_out, key_in in (
                (self.ra, self.out_a, self.out_b, selector_ab, selector_ba,
                 0x100, 0x200, KEY_AB, KEY_BA),
                (self.rb, self.out_b, self.out_a, selector_ba, selector_ab,
                 0x200, 0x100, KEY_BA, KEY_AB)):
            aead = "aead 'rfc4106(gcm(aes))'"
            tmpl_in = f"tmpl src {peer} dst {me} proto esp reqid 2 mode {mode}"
            # A replay window: paths may reorder (netem in some tests).
            r.sh(f"""
ip xfrm state add src {me} dst {peer} proto esp spi {spi_out} reqid 1 mode {mode} replay-window 64 {aead} {key_out} 128 flag af-unspec
ip xfrm state add src {peer} dst {me} proto esp spi {spi_in} reqid 2 mode {mode} replay-window 64 {aead} {key_in} 128 flag af-unspec
ip xfrm policy add {sel_out} dir out tmpl src {me} dst {peer} proto esp reqid 1 mode {mode}
ip xfrm policy add {sel_in} dir in {tmpl_in}
""" + (f"ip xfrm policy add {sel_in} dir fwd {tmpl_in}\n" if forward else ""))

    def routers(self):
        return (self.ra, self.rb)

    def flush_rules(self):
        for r in self.routers():
            r.sh("for t in raw mangle filter nat; do iptables-legacy -t $t -F; "
                 "ip6tables-legacy -t $t -F; done; nft flush ruleset; "
                 "conntrack -F >/dev/null 2>&1; true")
        # Forget learnt path MTUs everywhere: each test starts afresh.
        for h in (self.ha, self.hb, self.ra, self.rb):
            h.sh("ip route flush cache")

    def delete(self):
        for n in self.ns.values():
            n.delete()


class Tunnel(Gateways):
    HA, RA_IN, RB_IN, HB = "10.0.1.2", "10.0.1.1", "10.0.4.1", "10.0.4.2"
    # The hosts' subnets in IPv6 too, in the same IPv4 ESP tunnel.
    HA6, RA_IN6, RB_IN6, HB6 = "fd00:1::2", "fd00:1::1", "fd00:4::1", "fd00:4::2"

    def __init__(self, prefix="t", mode="tunnel", drop_fragments=True, ipv6=False,
                 keying="static", here=(), underlay6=False):
        """keying "ike": no SAs or policies; an IKE daemon (tests/lib/ike.py)
        negotiates them for the hosts' subnets."""
        super().__init__(prefix, drop_fragments, here, underlay6)
        self.ha.sh(f"ip addr add {self.HA}/24 dev eth0 && "
                   f"ip route add default via {self.RA_IN}")
        self.hb.sh(f"ip addr add {self.HB}/24 dev eth0 && "
                   f"ip route add default via {self.RB_IN}")
        self.ra.sh(f"ip addr add {self.RA_IN}/24 dev eth0 && "
                   f"ip route add 10.0.4.0/24 via {self.MID_A} src {self.RA_IN}")
        self.rb.sh(f"ip addr add {self.RB_IN}/24 dev eth0 && "
                   f"ip route add 10.0.1.0/24 via {self.MID_B} src {self.RB_IN}")
        for r in self.routers():
            r.sysctl("net.ipv4.ip_forward", 1)
        if keying == "ike":
            self.mode = mode
        elif mode == "tunnel":
            self.ipsec(mode, "src 10.0.1.0/24 dst 10.0.4.0/24",
                       "src 10.0.4.0/24 dst 10.0.1.0/24", forward=True)
            if ipv6:
                self._ipv6_in_tunnel()
        else:  # transport: protect the gateways' own traffic and nothing else
            self.ipsec(mode, f"src {self.RA_OUT} dst {self.RB_OUT}",
                       f"src {self.RB_OUT} dst {self.RA_OUT}")


    def _ipv6_in_tunnel(self):
        """fd00:1::/64 <-> fd00:4::/64 through the same (IPv4) ESP SAs."""
        for h, me, gw in ((self.ha, self.HA6, self.RA_IN6), (self.hb, self.HB6, self.RB_IN6)):
            h.sh(f"ip addr add {me}/64 dev eth0 nodad && ip -6 route add default via {gw}")
        for r, me, peer_net, out, peer, sel_out, sel_in in (
                (self.ra, self.RA_IN6, "fd00:4::/64", self.out_a, self.out_b,
                 "src fd00:1::/64 dst fd00:4::/64", "src fd00:4::/64 dst fd00:1::/64"),
                (self.rb, self.RB_IN6, "fd00:1::/64", self.out_b, self.out_a,
                 "src fd00:4::/64 dst fd00:1::/64", "src fd00:1::/64 dst fd00:4::/64")):
            r.sysctl("net.ipv6.conf.all.forwarding", 1)
            tmpl_in = f"tmpl src {peer} dst {out} proto esp reqid 2 mode tunnel"
            # The route only has to exist: the xfrm bundle replaces it.
            r.sh(f"""
ip addr add {me}/64 dev eth0 nodad
ip -6 route add {peer_net} dev eth1 src {me}
ip xfrm policy add {sel_out} dir out tmpl src {out} dst {peer} proto esp reqid 1 mode tunnel
ip xfrm policy add {sel_in} dir in {tmpl_in}
ip xfrm policy add {sel_in} dir fwd {tmpl_in}
""")


class RouteBased(Gateways):
    HA, RA_IN, RB_IN, HB = Tunnel.HA, Tunnel.RA_IN, Tunnel.RB_IN, Tunnel.HB
    KEY = 42  # the xfrm interface's if_id, or the VTI's key and the SAs' mark

    def __init__(self, prefix="rb", kind="xfrm", drop_fragments=True, underlay6=False,
                 keying="static"):
        """keying "ike": no SAs or policies; an IKE daemon negotiates them
        with the interface's if_id (tests/lib/ike.py)."""
        super().__init__(prefix, drop_fragments, underlay6=underlay6)
        self.kind = kind
        self.dev = "xfrm0" if kind == "xfrm" else "vti0"
        self.ha.sh(f"ip addr add {self.HA}/24 dev eth0 && ip route add default via {self.RA_IN}")
        self.hb.sh(f"ip addr add {self.HB}/24 dev eth0 && ip route add default via {self.RB_IN}")
        for r, inside, me, peer, far in (
                (self.ra, self.RA_IN, self.out_a, self.out_b, "10.0.4.0/24"),
                (self.rb, self.RB_IN, self.out_b, self.out_a, "10.0.1.0/24")):
            r.sysctl("net.ipv4.ip_forward", 1)
            if kind == "xfrm":
                link = f"ip link add xfrm0 type xfrm dev eth1 if_id {self.KEY}"
            else:
                kind6 = "vti6" if underlay6 else "vti"
                link = (f"ip link add vti0 type {kind6} local {me} remote {peer} "
                        f"ikey {self.KEY} okey {self.KEY}")
            r.sh(f"{link} && ip link set {self.dev} up && "
                 f"ip addr add {inside}/24 dev eth0 && ip route add {far} dev {self.dev}")
            if kind == "vti":
                r.sysctl("net.ipv4.conf.vti0.disable_policy", 1)
        if keying == "static":
            self.keys("rfc4106(gcm(aes))")

    def keys(self, aead, spis=(0x100, 0x200)):
        """SAs (aead with a 160-bit key, or "cbc": AES-CBC with HMAC-SHA256)
        and policies for any traffic, carrying the interface's if_id or the
        VTI's mark; replaces those there were."""
        tag = f"if_id {self.KEY}" if self.kind == "xfrm" else f"mark {self.KEY}"
        if aead == "cbc":
            algo = f"enc 'cbc(aes)' 0x{'33' * 16} auth-trunc 'hmac(sha256)' 0x{'44' * 32} 128"
            algos = (algo, algo)
        else:
            algos = (f"aead '{aead}' {KEY_AB} 128", f"aead '{aead}' {KEY_BA} 128")
        for r, me, peer, out_spi, in_spi, out_algo, in_algo in (
                (self.ra, self.out_a, self.out_b, spis[0], spis[1], algos[0], algos[1]),
                (self.rb, self.out_b, self.out_a, spis[1], spis[0], algos[1], algos[0])):
            tmpl_in = f"tmpl src {peer} dst {me} proto esp reqid 2 mode tunnel"
            r.sh(f"""
ip xfrm state flush
ip xfrm policy flush
ip xfrm state add src {me} dst {peer} proto esp spi {out_spi} reqid 1 mode tunnel replay-window 64 {out_algo} {tag} flag af-unspec
ip xfrm state add src {peer} dst {me} proto esp spi {in_spi} reqid 2 mode tunnel replay-window 64 {in_algo} {tag} flag af-unspec
ip xfrm policy add src 0.0.0.0/0 dst 0.0.0.0/0 dir out tmpl src {me} dst {peer} proto esp reqid 1 mode tunnel {tag}
ip xfrm policy add src 0.0.0.0/0 dst 0.0.0.0/0 dir in {tmpl_in} {tag}
ip xfrm policy add src 0.0.0.0/0 dst 0.0.0.0/0 dir fwd {tmpl_in} {tag}
""")


class Bridge(Gateways):
    HA, HB = "10.0.9.1", "10.0.9.2"

    def __init__(self, prefix="br", mode="tunnel", drop_fragments=True, keying="static"):
        """keying "ike": an IKE daemon negotiates the SAs for GRE."""
        super().__init__(prefix, drop_fragments)
        self.ha.sh(f"ip addr add {self.HA}/24 dev eth0")
        self.hb.sh(f"ip addr add {self.HB}/24 dev eth0")
        for r, me, peer in ((self.ra, self.RA_OUT, self.RB_OUT),
                            (self.rb, self.RB_OUT, self.RA_OUT)):
            r.sh(f"ip link add gt0 type gretap local {me} remote {peer} "
                 "nopmtudisc ignore-df && ip link set gt0 mtu 1500 && "
                 "ip link add br0 type bridge && "
                 "ip link set eth0 master br0 && ip link set gt0 master br0 && "
                 "ip link set gt0 up && ip link set br0 up")
        if keying == "ike":
            self.mode = mode
        else:
            self.ipsec(mode, f"src {self.RA_OUT} dst {self.RB_OUT} proto gre",
                       f"src {self.RB_OUT} dst {self.RA_OUT} proto gre")


class Routed:
    """Two hosts and a router, dual stack, no IPsec:

        h1 ---- r ---- h2
        10.1.1.2   .1 | .1   10.1.2.2
        fd00:1::2  ::1 | ::1  fd00:2::2
    """
    H1, R1, R2, H2 = "10.1.1.2", "10.1.1.1", "10.1.2.1", "10.1.2.2"
    H1_6, R1_6, R2_6, H2_6 = "fd00:1::2", "fd00:1::1", "fd00:2::1", "fd00:2::2"

    def __init__(self, prefix="rt"):
        self.h1, self.r, self.h2 = (Netns(f"{prefix}-{n}") for n in ("h1", "r", "h2"))
        veth(self.h1, "eth0", self.r, "eth0")
        veth(self.r, "eth1", self.h2, "eth0")
        for ns, cmds in (
                (self.h1, f"ip addr add {self.H1}/24 dev eth0 && "
                          f"ip route add default via {self.R1} && "
                          f"ip -6 addr add {self.H1_6}/64 dev eth0 nodad && "
                          f"ip -6 route add default via {self.R1_6}"),
                (self.h2, f"ip addr add {self.H2}/24 dev eth0 && "
                          f"ip route add default via {self.R2} && "
                          f"ip -6 addr add {self.H2_6}/64 dev eth0 nodad && "
                          f"ip -6 route add default via {self.R2_6}"),
                (self.r, f"ip addr add {self.R1}/24 dev eth0 && "
                         f"ip addr add {self.R2}/24 dev eth1 && "
                         f"ip -6 addr add {self.R1_6}/64 dev eth0 nodad && "
                         f"ip -6 addr add {self.R2_6}/64 dev eth1 nodad")):
            ns.sh(cmds)
        self.r.sysctl("net.ipv4.ip_forward", 1)
        self.r.sysctl("net.ipv6.conf.all.forwarding", 1)

    def hosts(self):
        return (self.h1, self.r, self.h2)

    def flush_rules(self):
        for ns in self.hosts():
            ns.sh("for t in raw mangle filter; do iptables-legacy -t $t -F; "
                  "ip6tables-legacy -t $t -F; done; "
                  "ip route flush cache; ip -6 route flush cache")

    def delete(self):
        for ns in self.hosts():
            ns.delete()
