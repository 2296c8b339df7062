"""A task's docstring split into its prose and its parameter descriptions."""

from __future__ import annotations

from opsrunner.taskdoc import TaskDoc, parse_doc


def test_params_with_continuation_lines_leave_the_prose():
    doc = parse_doc("""Run a command.

        :param cmd: the command line,
            run by ``sh -c``.
        :param env: environment variables; the values
            never appear in argv,
              so secrets belong here.
        :param rc: the exit statuses.

        The result carries rc, stdout and stderr.
        data: rc.
        """)
    assert doc.params == {"cmd": "the command line, run by ``sh -c``.",
                          "env": "environment variables; the values never appear in argv, so "
                                 "secrets belong here.",
                          "rc": "the exit statuses."}
    assert doc.prose == "Run a command.\n\nThe result carries rc, stdout and stderr.\ndata: rc."


def test_a_param_without_description_and_a_typed_param():
    doc = parse_doc("""Sample.

        :param quiet:
        :param int count: how many.
        :param   spaced : text
        """)
    assert doc.params == {"quiet": "", "count": "how many.", "spaced": "text"}
    assert doc.prose == "Sample."


def test_several_params_share_one_description():
    doc = parse_doc(":param conf, tool: the files\n    (the guide's paths).\n:param x: one")
    assert doc.params == {"conf": "the files (the guide's paths).",
                          "tool": "the files (the guide's paths).", "x": "one"}


def test_a_line_at_the_param_indent_ends_the_description():
    doc = parse_doc(":param a: first\n    more\nafter the params\n:param b: second")
    assert doc.params == {"a": "first more", "b": "second"}
    assert doc.prose == "after the params"


def test_a_docstring_without_params():
    assert parse_doc("Only prose.\n\n\n\nTwo paragraphs.\n") == TaskDoc(
        "Only prose.\n\nTwo paragraphs.", {})
    assert parse_doc(None) == TaskDoc("", {})
    assert parse_doc("") == TaskDoc()


def test_every_first_party_task_documents_each_parameter():
    from opsrunner.plugins import load_registry

    for name, spec in load_registry().tasks.items():
        doc = parse_doc(spec.doc)
        assert ":param" not in doc.prose, name
        assert set(doc.params) <= set(spec.params), (name, set(doc.params) - set(spec.params))
        assert all(doc.params.get(p) for p in spec.params), (name, set(spec.params) - set(doc.params))
