"""Checks for examples/preflight.yml: run by `opsrunner run` after the steps, or by `opsrunner verify`."""


def test_motd_is_managed(host, host_path):
    motd = host.file(host_path("/etc/motd"))
    assert motd.is_file
    assert motd.mode == 0o644
    assert "managed by opsrunner" in motd.content_string


def test_last_change_recorded(host, host_path):
    conf = host.file(host_path("/etc/opsrunner/last-change.conf"))
    assert conf.is_file
    assert conf.contains("^LAST_WINDOW=")


def test_sshd_is_running(host):
    assert host.process.filter(comm="sshd")
