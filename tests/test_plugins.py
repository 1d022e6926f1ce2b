"""The plugin contract, exercised through the dummy plugin (tests/dummy_plugin), which implements
every hook."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pluggy
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from mmcat.celery import periodic_schedule
from mmcat.parsing import ParseError, parse_file, parsers
from mmcat.plugins import hookspecs
from mmcat.plugins.checks import check_plugins
from mmcat.plugins.loading import enabled_plugin_apps, installed_plugins
from mmcat.plugins.manager import get_plugin_manager
from mmcat.plugins.markers import hookimpl
from mmcat.testing import SessionFactory

AVAILABLE = {"mx": "mmcat_mx", "em": "mmcat_em", "shipping": "mmcat_shipping"}


class TestEnabling:
    def test_empty_means_core_only(self):
        assert enabled_plugin_apps("", AVAILABLE) == []
        assert enabled_plugin_apps(None, AVAILABLE) == []

    def test_all_means_every_installed_plugin(self):
        assert enabled_plugin_apps("all", AVAILABLE) == ["mmcat_em", "mmcat_mx",
                                                         "mmcat_shipping"]

    def test_a_list_keeps_its_order_and_ignores_blanks_and_repeats(self):
        assert enabled_plugin_apps(" shipping, mx,,mx ", AVAILABLE) == ["mmcat_shipping",
                                                                        "mmcat_mx"]

    def test_an_unknown_slug_stops_with_a_clear_message(self):
        with pytest.raises(ImproperlyConfigured) as exc:
            enabled_plugin_apps("mx,xray", AVAILABLE)
        assert "not installed: xray" in str(exc.value)
        assert "Installed: em, mx, shipping" in str(exc.value)

    def test_an_unknown_slug_stops_the_real_start_up(self, tmp_path):
        env = {"PATH": "/usr/bin:/bin", "MMCAT_PLUGINS": "nonexistent", "SECRET_KEY": "x",
               "MMCAT_DATA_DIR": str(tmp_path)}
        result = subprocess.run([sys.executable, "-m", "mmcat.cli", "check"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0
        assert "MMCAT_PLUGINS names plugin(s) that are not installed: nonexistent" in \
            result.stderr

    def test_installed_plugins_come_from_entry_points(self):
        assert installed_plugins().get("mx") == "mmcat_mx"


class TestHooks:
    def test_every_hook_name_is_prefixed_and_documented(self):
        specs = [name for name in dir(hookspecs) if name.startswith("mmcat_")]
        assert len(specs) >= 12
        for name in specs:
            assert getattr(hookspecs, name).__doc__, name

    def test_the_dummy_plugin_implements_every_hook(self):
        pm = get_plugin_manager()
        dummy = pm.get_plugin("dummy")
        specs = {name for name in dir(hookspecs) if name.startswith("mmcat_")}
        implemented = {caller.name for caller in pm.get_hookcallers(dummy)}
        assert implemented == specs

    def test_a_misspelled_hook_fails_loudly(self):
        pm = pluggy.PluginManager("mmcat")
        pm.add_hookspecs(hookspecs)
        pm.register(SimpleNamespace(mmcat_technique=hookimpl(lambda: [])), name="typo")
        with pytest.raises(pluggy.PluginValidationError):
            pm.check_pending()

    @pytest.mark.django_db
    def test_parameter_types_reach_the_dictionary(self, client_of, member):
        response = client_of(member).get("/api/v1/dictionary/?technique=dummy")
        assert {p["key"] for p in response.json()["results"]} >= {"dummy_length", "dummy_count"}

    def test_parsers_are_collected_and_used(self, tmp_path):
        assert "dummy" in parsers()
        good = tmp_path / "a.dummy"
        good.write_text("DUMMY v1\nspace_group = P1\n")
        assert parse_file(good) == ("dummy", {"space_group": "P1"})
        bad = tmp_path / "b.dummy"
        bad.write_text("DUMMY v1\nno equals sign\n")
        with pytest.raises(ParseError, match="line 2: expected key=value"):
            parse_file(bad)
        with pytest.raises(ParseError, match="no enabled parser recognises"):
            parse_file(_write(tmp_path / "c.txt", "hello"))
        with pytest.raises(ParseError, match="unknown parser 'zzz'"):
            parse_file(good, parser="zzz")

    def test_periodic_tasks_reach_the_beat_schedule(self):
        schedule = periodic_schedule()
        assert schedule["dummy-heartbeat"] == {"task": "dummy.heartbeat", "schedule": 3600,
                                               "kwargs": {}}

    @pytest.mark.django_db
    def test_api_routes_are_mounted(self, client_of, member):
        assert client_of(member).get("/api/v1/dummy/notes/").status_code == 200

    @pytest.mark.django_db
    def test_menu_panels_and_widgets_appear_on_core_pages(self, member):
        session = SessionFactory()
        session.proposal.members.create(person=member)
        client = Client()
        client.force_login(member)
        home = client.get("/").content.decode()
        assert 'href="/dummy/"' in home and "Dummy widget" in home
        assert 'hx-get="/dummy/widget/"' in home
        page = client.get(f"/sessions/{session.pk}/").content.decode()
        assert f'hx-get="{reverse("dummy:session-panel", args=[session.pk])}"' in page
        page = client.get(f"/proposals/{session.proposal.pk}/").content.decode()
        assert "Dummy proposal panel" in page


def _write(path, text):
    path.write_text(text)
    return path


class TestChecks:
    @pytest.fixture
    def dummy(self):
        config = apps.get_app_config("dummy")
        saved = (type(config).requires_core, type(config).required_settings)
        yield config
        type(config).requires_core, type(config).required_settings = saved

    def test_compatible_plugins_pass(self):
        assert check_plugins() == []

    def test_an_incompatible_core_version_is_an_error(self, dummy):
        type(dummy).requires_core = ">=99"
        errors = check_plugins()
        assert [e.id for e in errors] == ["mmcat.E001"]
        assert "needs mmcat>=99" in errors[0].msg

    def test_an_invalid_version_range_is_an_error(self, dummy):
        type(dummy).requires_core = "not a range"
        assert [e.id for e in check_plugins()] == ["mmcat.E002"]

    def test_a_missing_required_setting_is_an_error(self, dummy, settings):
        type(dummy).required_settings = ("api_url",)
        assert [e.id for e in check_plugins()] == ["mmcat.E003"]
        settings.MMCAT_PLUGIN_SETTINGS = {"dummy": {"api_url": "https://x"}}
        assert check_plugins() == []
        assert dummy.get_setting("greeting") == "hello"


class TestCommands:
    def test_plugins_lists_versions_and_techniques(self, capsys):
        call_command("plugins")
        out = capsys.readouterr().out
        assert "mx " in out and "enabled" in out
        assert "dummy (6 parameters)" in out

    def test_parse_prints_json(self, tmp_path, capsys):
        call_command("parse", str(_write(tmp_path / "a.dummy", "DUMMY v1\na=1\n")))
        assert json.loads(capsys.readouterr().out) == {"parser": "dummy", "result": {"a": "1"}}

    def test_parse_reports_a_clear_error(self, tmp_path):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="no enabled parser recognises"):
            call_command("parse", str(_write(tmp_path / "x.txt", "nothing")))


class TestParameterKeyCheck:
    def test_two_techniques_declaring_one_key_is_an_error(self):
        from mmcat.plugins.checks import check_parameter_keys
        from mmcat.plugins.manager import get_plugin_manager
        from mmcat.plugins.types import ParameterSpec, TechniqueSpec

        assert check_parameter_keys() == []

        class Clash:
            @hookimpl
            def mmcat_techniques(self):
                return [TechniqueSpec("other", "Other", [ParameterSpec("dummy_length", "L")])]

        pm = get_plugin_manager()
        pm.register(Clash(), name="clash")
        try:
            errors = check_parameter_keys()
        finally:
            pm.unregister(name="clash")
        assert [e.id for e in errors] == ["mmcat.E004"]
        assert "'dummy_length' is declared by both technique" in errors[0].msg
        assert "'dummy'" in errors[0].msg and "'other'" in errors[0].msg


@pytest.mark.django_db
def test_a_failing_plugin_panel_does_not_break_the_page(member, caplog):
    class Broken:
        @hookimpl
        def mmcat_session_panels(self, session, request):
            raise RuntimeError("plugin bug")

    session = SessionFactory()
    session.proposal.members.create(person=member)
    client = Client()
    client.force_login(member)
    pm = get_plugin_manager()
    pm.register(Broken(), name="broken")
    try:
        response = client.get(f"/sessions/{session.pk}/")
    finally:
        pm.unregister(name="broken")
    assert response.status_code == 200
    assert "Dummy session panel" in response.content.decode()
    assert "plugin broken failed in mmcat_session_panels" in caplog.text
