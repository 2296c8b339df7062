"""opsrunner.testing's tree_state: what it compares and what it leaves out."""

from __future__ import annotations

import os

from opsrunner.testing import tree_state


def test_tree_state_sees_content_modes_and_new_files_but_not_the_run_lock_folder(tmp_path):
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "app.conf"
    conf.write_text("a=1\n")
    (tmp_path / "run").mkdir()
    before = tree_state(tmp_path)
    (tmp_path / "run" / "opsrunner").mkdir()
    (tmp_path / "run" / "opsrunner" / "host.lock").write_text("")
    assert tree_state(tmp_path) == before
    (tmp_path / "run" / "other.pid").write_text("1\n")
    assert tree_state(tmp_path) != before
    os.remove(tmp_path / "run" / "other.pid")
    os.chmod(conf, 0o600)
    assert tree_state(tmp_path) != before
    assert "run/opsrunner" in tree_state(tmp_path, skip=())
