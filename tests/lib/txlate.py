"""The nft rules iptables-translate prints for our targets, from libxt's
.txlate files, as commands nft-prefrag can load on their own."""
import os

LIBXT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "libxt")


def translated_rules():
    """(iptables command, nft rule) of every pair in the .txlate files."""
    for name in sorted(f for f in os.listdir(LIBXT) if f.endswith(".txlate")):
        lines = [l for l in open(os.path.join(LIBXT, name)).read().splitlines() if l.strip()]
        for cmd, nft in zip(lines[::2], lines[1::2]):
            yield cmd, nft[len("nft '"):-1]


def with_its_chain(rule):
    """@rule ("add rule FAMILY TABLE CHAIN ...") after commands adding its
    table and chain."""
    family, table, chain = rule.split()[2:5]
    return f"add table {family} {table}\nadd chain {family} {table} {chain}\n{rule}\n"
