"""The demo: PREFRAG on real packets, in the guest kernel.

Two IPsec gateways (ESP tunnel mode) with a router between them that drops
IP fragments, as many middleboxes do.  A host sends full-size (1500-byte)
packets without DF through the tunnel, first without PREFRAG, then with it.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nettest import capture, ping, udp_exchange  # noqa: E402
from topology import Tunnel  # noqa: E402


def show_wire(title, packets):
    esp = [p for p in packets if p.proto == 50]
    print(f"   {title}: {len(esp)} ESP packets on the wire between the gateways")
    for p in esp[:4]:
        what = "FRAGMENT of an ESP packet" if p.is_fragment else "whole ESP packet"
        print(f"      {p.src} > {p.dst}  {p.total_len:5d} bytes  {what}")


def main():
    subprocess.run(["modprobe", "xt_PREFRAG"], check=True)
    t = Tunnel(prefix="demo")
    print(__doc__)
    print("   host A 10.0.1.2 - gateway A = ESP = [drops fragments] = gateway B - host B 10.0.4.2\n")

    print("1. Without PREFRAG: ping -M dont -s 1472 (1500-byte packets)")
    with capture(t.mid, "eth0", "/tmp/demo-before.pcap") as wire:
        loss = ping(t.ha, t.HB, 1472, count=3)
    show_wire("gateway A encrypts whole, then fragments the ESP packet", wire)
    print(f"   packet loss: {loss:.0f}%  (the path dropped "
          f"{t.fragments_dropped()} ESP fragments)\n")

    rule = "-t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"
    print(f"2. With PREFRAG on both gateways:\n   iptables {rule}")
    for r in t.routers():
        r.sh(f"iptables-legacy {rule}")
    with capture(t.mid, "eth0", "/tmp/demo-after.pcap") as wire:
        loss = ping(t.ha, t.HB, 1472, count=3)
    show_wire("the inner packet is cut first; each piece is encrypted whole", wire)
    print(f"   packet loss: {loss:.0f}%\n")

    sizes = [1000, 1473, 3000, 8972]
    res = udp_exchange(t.ha, t.hb, t.HB, sizes)
    ok = sum(1 for s in sizes if res[s][0])
    print(f"3. UDP datagrams of {sizes} bytes: {ok}/{len(sizes)} arrived byte-for-byte\n")

    print("4. Gateway A's counters (/proc/net/nf_prefrag):")
    for k, v in t.ra.counters().items():
        if v:
            print(f"      {k} {v}")
    t.delete()
    if loss != 0 or ok != len(sizes):
        sys.exit("demo: PREFRAG did not work as shown above")
    print("\nDemo done.")


if __name__ == "__main__":
    main()
