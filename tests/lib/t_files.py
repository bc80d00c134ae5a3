"""The rules of our .t files (libxt/), as iptables' own iptables-test.py
reads them, for tests that run each rule another way."""
import os

import pytest

LIBXT = os.path.join(os.path.dirname(__file__), "..", "..", "libxt")


def t_file_rules():
    """(command, table, chain, rule) of every rule in our .t files."""
    for name in sorted(os.listdir(LIBXT)):
        if not name.endswith(".t"):
            continue
        command = "ip6tables" if name.startswith("libip6t_") else "iptables"
        table, chains = "filter", []
        for line in open(os.path.join(LIBXT, name)).read().splitlines():
            if line.startswith(":"):
                chains = line[1:].split(",")
            elif line.startswith("*"):
                table = line[1:]
            elif line.strip() and not line.startswith("#"):
                rule = line.split(";")[0]
                yield pytest.param(command, table, chains[0], rule, id=f"{command} {rule}")
