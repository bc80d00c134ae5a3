"""For every run of the suite: --no-skips, which the scripts that run it
(tests/run-tests.sh, run-libreswan.sh, check-debug.sh) pass, fails a run
that collected no test or skipped any: a file it was asked to run that did
not run is a failure, not a footnote."""


def pytest_addoption(parser):
    parser.addoption("--no-skips", action="store_true",
                     help="fail the run if it collected no test or skipped one")


def pytest_sessionfinish(session, exitstatus):
    if not session.config.getoption("no_skips") or exitstatus not in (0, 5):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if session.testscollected == 0:
        problem = "no test was collected"
    elif skipped:
        problem = f"{len(skipped)} skipped: " + "; ".join(
            f"{r.nodeid} ({r.longrepr[2] if isinstance(r.longrepr, tuple) else r.longrepr})"
            for r in skipped[:10])
    else:
        return
    if reporter:
        reporter.write_line(f"--no-skips: {problem}", red=True)
    session.exitstatus = 1
