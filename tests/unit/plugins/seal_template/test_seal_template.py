"""seal_template refuses bad input before it contacts the engine or the guest."""

from __future__ import annotations

import pytest

from opsrunner import TaskFailed
from opsrunner.testing import MakeTask
from opsrunner_plugins.seal_template import seal_template, snapshot_description


@pytest.mark.parametrize(("template", "cloud_init", "message"), [
    ("ol8 template", None, "template 'ol8 template': the engine allows letters, digits, '_', "
                           "'-' and '.'"),
    ("", None, "template '': the engine allows letters, digits, '_', '-' and '.'"),
    ("ol8-template", {"root_password": "plain"}, "cloud_init.root_password must come from a "
     "secret: {secret_env: NAME} or {secret_file: PATH} (a literal password is refused)"),
    ("ol8-template", {"dns_servers": "x"}, "cloud_init.dns_servers entry must be an IP address, "
                                           "got 'x'"),
])
def test_bad_input_fails_before_the_engine_is_asked(make_task: MakeTask, template: str,
                                                    cloud_init: dict[str, str] | None,
                                                    message: str) -> None:
    with pytest.raises(TaskFailed) as caught:
        seal_template(make_task(), vm="ol8-vm1", template=template, cloud_init=cloud_init)
    assert str(caught.value) == message


def test_without_engine_sessions_the_task_says_so(make_task: MakeTask) -> None:
    with pytest.raises(TaskFailed, match="this task needs the engine API"):
        seal_template(make_task(), vm="ol8-vm1", template="ol8-template")


def test_the_snapshot_is_named_after_the_template() -> None:
    assert snapshot_description("ol8-template") == "before seal for template ol8-template"
