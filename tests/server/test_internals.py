"""The check behind every server patch: what it reports when a library no longer has what a patch relies on."""

from __future__ import annotations

import logging
from importlib import metadata

import pytest
import twisted.web.http

from llmproxy_site.server.internals import Internal, Patch, names_in


class Library:
    """Stands in for a library class (its module is this test's, whose top-level package is ``tests``)."""

    flag = True

    def method(self, request: object, *, timeout: float = 1.0) -> None:
        self.seen = [x for x in ("application_instance",) if request]


def test_what_is_there_fits() -> None:
    patch = Patch("m.P", (
        Internal(Library, "flag"),
        Internal(Library, "method", parameters=("request", "timeout"), uses=("seen", "application_instance")),
    ))
    assert patch.problems() == []
    assert patch.fits()


def test_each_missing_name_parameter_and_use_is_one_sentence_naming_the_library_version() -> None:
    patch = Patch("daphne_tuning.X", (
        Internal(twisted.web.http.Request, "gone"),
        Internal(twisted.web.http.Request, "__init__", parameters=("channel", "renamed")),
        Internal(twisted.web.http.Request, "finish", uses=("log", "no_such_name")),
    ))
    version = metadata.version("twisted")
    assert patch.problems() == [
        f"daphne_tuning.X relies on twisted.web.http.Request.gone, which twisted {version} no longer has: "
        "re-measure and adapt the patch, or drop it",
        f"daphne_tuning.X relies on the parameter 'renamed' of twisted.web.http.Request.__init__, which twisted "
        f"{version} no longer has: re-measure and adapt the patch, or drop it",
        f"daphne_tuning.X relies on twisted.web.http.Request.finish using 'no_such_name', which twisted {version} "
        "no longer has: re-measure and adapt the patch, or drop it",
    ]


def test_a_patch_that_does_not_fit_is_not_installed_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    patch = Patch("m.P", (Internal(Library, "gone"),))
    with caplog.at_level(logging.WARNING, logger="llmproxy.server"):
        assert not patch.fits()
    assert caplog.messages == [
        f"m.P relies on {__name__}.Library.gone, which tests (version unknown) no longer has: "
        "re-measure and adapt the patch, or drop it; running without this patch"
    ]


def test_a_function_that_became_something_else_does_not_fit() -> None:
    patch = Patch("m.P", (Internal(Library, "flag", parameters=("request",), uses=("seen",)),))
    assert [p.split(", which")[0] for p in patch.problems()] == [
        f"m.P relies on the parameter 'request' of {__name__}.Library.flag",
        f"m.P relies on {__name__}.Library.flag using 'seen'",
    ]


def test_names_in_code_include_nested_code() -> None:
    assert {"seen", "application_instance"} <= names_in(Library.method.__code__)
