"""IKE daemons keying the test tunnels, as users run them.

strongSwan: one charon per gateway, in the gateway's namespace, with a /run
of its own (charon writes /run/charon.pid) and configuration files written
here: strongswan.conf (STRONGSWAN_CONF) and swanctl.conf, loaded with
swanctl over a vici socket in the work directory.

libreswan: one pluto per gateway, the same way: its own /run, NSS database,
ipsec.conf and ipsec.secrets in the work directory, controlled with
`ipsec whack`/`ipsec addconn` over the control socket there (--rundir).
"""
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time

from nettest import CommandError, scaled
from topology import Bridge

CHARON = "/usr/lib/ipsec/charon"
PLUTO = "/usr/libexec/ipsec/pluto"
PSK = "nf-prefrag-test-psk-0123456789"

STRONGSWAN_CONF = """\
charon {{
    load_modular = yes
    # Gateways: the tests' routes already lead into the tunnel.  A client
    # with a virtual IP needs charon's route (table 220, from that address).
    install_routes = {install_routes}
    retransmit_timeout = {retransmit}
    plugins {{
        include /etc/strongswan.d/charon/*.conf
        vici {{
            socket = {uri}
        }}
    }}
    filelog {{
        test {{
            path = {log}
            time_format = %T
            flush_line = yes
            default = 1
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
}}
include /etc/strongswan.d/*.conf
"""

# IKE with CBC and SHA-256: Debian 12's charon has no userspace GCM (ESP's
# GCM is the kernel's).
SWANCTL_CONF = """\
connections {{
    gw {{
        version = 2
        local_addrs = {me}
        remote_addrs = {peer}
        proposals = aes128-sha256-modp2048
        local {{
            auth = psk
            id = {me}
        }}
        remote {{
            auth = psk
            id = {peer}
        }}
        children {{
            net {{
                local_ts = {local_ts}
                remote_ts = {remote_ts}
                mode = tunnel
                esp_proposals = {esp}
                start_action = {start_action}
{child_extra}            }}
        }}
    }}
}}
secrets {{
    ike-gw {{
        id-1 = {me}
        id-2 = {peer}
        secret = "{psk}"
    }}
}}
"""


# A road warrior (ra) asking for a virtual IP, and the gateway (rb) giving
# one from its pool.
ROAD_WARRIOR_CONF = """\
connections {{
    rw {{
        version = 2
        local_addrs = {me}
        remote_addrs = {peer}
        proposals = aes128-sha256-modp2048
        vips = 0.0.0.0
        local {{
            auth = psk
            id = client@example.org
        }}
        remote {{
            auth = psk
            id = {peer}
        }}
        children {{
            rw {{
                remote_ts = {remote_ts}
                esp_proposals = aes128gcm16
            }}
        }}
    }}
}}
secrets {{
    ike-rw {{
        id-1 = client@example.org
        id-2 = {peer}
        secret = "{psk}"
    }}
}}
"""
ROAD_WARRIOR_GATEWAY_CONF = """\
connections {{
    rw {{
        version = 2
        local_addrs = {me}
        proposals = aes128-sha256-modp2048
        pools = clients
        local {{
            auth = psk
            id = {me}
        }}
        remote {{
            auth = psk
            id = client@example.org
        }}
        children {{
            rw {{
                local_ts = {local_ts}
                esp_proposals = aes128gcm16
            }}
        }}
    }}
}}
pools {{
    clients {{
        addrs = {pool}
    }}
}}
secrets {{
    ike-rw {{
        id-1 = client@example.org
        id-2 = {me}
        secret = "{psk}"
    }}
}}
"""


class Daemon:
    """What charon and pluto share: a process in a namespace (self.proc)
    that logs to self.log."""

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return "(no log)"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Charon(Daemon):
    """strongSwan's charon in @ns, configured in @workdir/@name."""

    def __init__(self, ns, workdir, name, install_routes=False):
        self.ns, self.name = ns, name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.uri = f"unix://{self.dir}/charon.vici"
        self.log = os.path.join(self.dir, "charon.log")
        self.conf = os.path.join(self.dir, "strongswan.conf")
        with open(self.conf, "w") as f:
            f.write(STRONGSWAN_CONF.format(uri=self.uri, log=self.log,
                                           install_routes="yes" if install_routes else "no",
                                           retransmit=scaled(2.0)))
        self.env = dict(os.environ, STRONGSWAN_CONF=self.conf)
        socket_path = self.uri[len("unix://"):]
        if os.path.exists(socket_path):  # a restart: wait for the new one
            os.unlink(socket_path)
        self.proc = ns.popen(["unshare", "-m", "sh", "-c",
                              f"mount -t tmpfs run /run && exec {CHARON}"],
                             env=self.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + scaled(30)
        while not os.path.exists(socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"charon in {ns.name} did not start:\n{self.log_text()}")
            time.sleep(0.1)

    def swanctl(self, *args, check=True):
        r = self.ns.run(["swanctl", *args, "--uri", self.uri], check=False,
                        timeout=60)
        if check and r.returncode != 0:
            raise CommandError(f"[{self.name}] swanctl {' '.join(args)} -> {r.returncode}\n"
                               f"{r.stdout}{r.stderr}\n{self.log_text()[-3000:]}")
        return r.stdout

    def initiate(self, child):
        """Bring @child up.  Its trap policy may have done so already, on a
        packet sent meanwhile (a bridge's own traffic, on a slow kernel):
        swanctl then refuses a duplicate, and the SA is up all the same."""
        try:
            self.swanctl("--initiate", "--child", child, "--timeout", str(int(scaled(60))))
        except CommandError:
            installed = re.compile(rf"^\s+{child}: #\d+, reqid \d+, INSTALLED", re.M)
            if not installed.search(self.swanctl("--list-sas")):
                raise

    def configure(self, me, peer, local_ts, remote_ts, esp="aes128gcm16",
                  start_action="none", child_extra=""):
        """Write swanctl.conf for a gateway-to-gateway tunnel and load it.
        child_extra: more lines for the child (an updown script)."""
        self.load(SWANCTL_CONF, me=me, peer=peer, local_ts=local_ts, remote_ts=remote_ts,
                  esp=esp, start_action=start_action,
                  child_extra=f"                {child_extra}\n" if child_extra else "")

    def load(self, template, **fields):
        """Write swanctl.conf from @template and load it."""
        path = os.path.join(self.dir, "swanctl.conf")
        with open(path, "w") as f:
            f.write(template.format(psk=PSK, **fields))
        self.swanctl("--load-all", "--clear", "--file", path)


def traffic_selectors(gw):
    """(ra's, rb's) local_ts: the hosts' subnets of a Tunnel; for a Bridge,
    GRE between the gateways (a tunnel-mode SA, so PREFRAG can cut it)."""
    if isinstance(gw, Bridge):
        return f"{gw.RA_OUT}/32[gre]", f"{gw.RB_OUT}/32[gre]"
    return "10.0.1.0/24", "10.0.4.0/24"


def configure_gateways(gw, daemons, esp="aes128gcm16", child_extra=""):
    """The tunnel between @gw's gateways (topology.Tunnel or Bridge, keying
    "ike") in (ra's, rb's) charon.  ra initiates, and its trap policy brings
    the tunnel back up on traffic whenever it is down (a restart of rb)."""
    ra, rb = daemons
    ra_ts, rb_ts = traffic_selectors(gw)
    ra.configure(gw.RA_OUT, gw.RB_OUT, ra_ts, rb_ts, esp, "trap", child_extra)
    rb.configure(gw.RB_OUT, gw.RA_OUT, rb_ts, ra_ts, esp, child_extra=child_extra)


class Charons(list):
    """with Charons() as daemons: daemons.start(ns, name, ...) runs a charon
    configured under one short work directory (vici socket paths are
    limited); on exit every one is stopped and the directory removed."""

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="swan.")
        return self

    def start(self, ns, name, **kw):
        self.append(Charon(ns, self.workdir, name, **kw))
        return self[-1]

    def restart(self, i):
        """Stop daemon @i and start it again, unconfigured."""
        old = self[i]
        old.stop()
        self[i] = Charon(old.ns, self.workdir, old.name)
        return self[i]

    def __exit__(self, *exc):
        for d in self:
            d.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def strongswan_tunnel(gw, esp="aes128gcm16"):
    """with strongswan_tunnel(gw) as daemons: charon on both gateways of
    @gw, the tunnel negotiated and up; daemons is [ra's, rb's]."""
    with Charons() as daemons:
        daemons.start(gw.ra, "ra")
        daemons.start(gw.rb, "rb")
        configure_gateways(gw, daemons, esp)
        daemons[0].initiate("net")
        yield daemons


# libreswan's gateway-to-gateway tunnel: the swanctl.conf above, in ipsec.conf.
LIBRESWAN_CONN = """\
conn gw
    ikev2=yes
    authby=secret
    left={me}
    leftsubnet={local_ts}
    right={peer}
    rightsubnet={remote_ts}
    ike=aes128-sha2_256;modp2048
    esp={esp}
    type=tunnel
    auto={auto}
{extra}"""
LIBRESWAN_CONF = """\
config setup
    logfile={log}
    logappend=yes

""" + LIBRESWAN_CONN
LIBRESWAN_SECRETS = """\
{me} {peer} : PSK "{psk}"
"""


class Pluto(Daemon):
    """libreswan's pluto in @ns, configured in @workdir/@name."""

    def __init__(self, ns, workdir, name):
        self.ns, self.name = ns, name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "ipsec.conf")
        self.secrets = os.path.join(self.dir, "ipsec.secrets")
        self.log = os.path.join(self.dir, "pluto.log")
        self.ctl = os.path.join(self.dir, "pluto.ctl")
        for path, text in ((self.conf, f"config setup\n    logfile={self.log}\n"),
                           (self.secrets, "")):
            with open(path, "w") as f:
                f.write(text)
        if not os.path.exists(os.path.join(self.dir, "cert9.db")):
            subprocess.run(["ipsec", "initnss", "--nssdir", self.dir], check=True,
                           capture_output=True)
        if os.path.exists(self.ctl):  # a restart: wait for the new one
            os.unlink(self.ctl)
        pluto = (f"{PLUTO} --nofork --config {self.conf} --secretsfile {self.secrets} "
                 f"--nssdir {self.dir} --rundir {self.dir} --logfile {self.log}")
        self.proc = ns.popen(["unshare", "-m", "sh", "-c",
                              f"mount -t tmpfs run /run && exec {pluto}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + scaled(30)
        while not os.path.exists(self.ctl):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"pluto in {ns.name} did not start:\n{self.log_text()}")
            time.sleep(0.1)

    def ipsec(self, *args, check=True):
        """ipsec whack|addconn ... against this pluto."""
        r = self.ns.run(["ipsec", args[0], "--ctlsocket", self.ctl, *args[1:]], check=False,
                        timeout=scaled(60))
        if check and r.returncode != 0:
            raise CommandError(f"[{self.name}] ipsec {' '.join(args)} -> {r.returncode}\n"
                               f"{r.stdout}{r.stderr}\n{self.log_text()[-3000:]}")
        return r.stdout

    def configure(self, me, peer, local_ts, remote_ts, esp="aes_gcm128-null", auto="add",
                  extra=""):
        """Write ipsec.conf and ipsec.secrets for a gateway-to-gateway
        tunnel and load them (auto=ondemand: a trap policy, as swanctl's
        start_action = trap)."""
        with open(self.conf, "w") as f:
            f.write(LIBRESWAN_CONF.format(log=self.log, me=me, peer=peer, local_ts=local_ts,
                                          remote_ts=remote_ts, esp=esp, auto=auto,
                                          extra=extra))
        with open(self.secrets, "w") as f:
            f.write(LIBRESWAN_SECRETS.format(me=me, peer=peer, psk=PSK))
        self.ipsec("whack", "--rereadsecrets")
        self.ipsec("whack", "--delete", "--name", "gw", check=False)
        self.ipsec("addconn", "--config", self.conf, "--autoall")


class Plutos(Charons):
    """with Plutos() as daemons: as Charons, for libreswan."""

    def start(self, ns, name, **kw):
        self.append(Pluto(ns, self.workdir, name))
        return self[-1]

    def restart(self, i):
        old = self[i]
        old.stop()
        self[i] = Pluto(old.ns, self.workdir, old.name)
        return self[i]


@contextlib.contextmanager
def libreswan_tunnel(gw, esp="aes_gcm128-null", extra=""):
    """with libreswan_tunnel(gw) as daemons: pluto on both gateways of @gw
    (ra's policy on demand, as strongswan_tunnel's trap), the tunnel up."""
    ra_ts, rb_ts = traffic_selectors(gw)
    with Plutos() as daemons:
        ra, rb = daemons.start(gw.ra, "ra"), daemons.start(gw.rb, "rb")
        rb.configure(gw.RB_OUT, gw.RA_OUT, rb_ts, ra_ts, esp, "add", extra)
        ra.configure(gw.RA_OUT, gw.RB_OUT, ra_ts, rb_ts, esp, "ondemand", extra)
        ra.ipsec("whack", "--name", "gw", "--initiate")
        yield daemons


# nf-prefrag-updown (updown/), as the build tree has it.
UPDOWN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "build", "updown", "nf-prefrag-updown")


def updown_command(workdir):
    """(the hook's command line, the file of the verbs the daemon said).
    The daemon's own script (NEXT) logs each verb.  Daemons give scripts an
    environment of their own: the build tree's plugins are named (installed
    ones are found without)."""
    verbs = os.path.join(workdir, "verbs")
    script = os.path.join(workdir, "log-verb")
    with open(script, "w") as f:
        f.write(f'#!/bin/sh\necho "$PLUTO_VERB" >> {verbs}\n')
    os.chmod(script, 0o755)
    return (f"env XTABLES_LIBDIR={os.environ['XTABLES_LIBDIR']} {UPDOWN} --mtu auto "
            f"-- {script}", verbs)


def said(verbs):
    try:
        with open(verbs) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_until(condition, daemons, seconds=30):
    """Until @condition() holds; fails with the daemons' logs."""
    deadline = time.monotonic() + scaled(seconds)
    while not condition():
        assert time.monotonic() < deadline, "\n".join(d.log_text()[-2000:] for d in daemons)
        time.sleep(0.2)
