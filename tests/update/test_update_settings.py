"""The `update:` settings are checked at load time, like every other section."""

from __future__ import annotations

import pytest

from appliance.config import ConfigError, load_config
from appliance.update.cli import health_url

KEY = "u/DllSyIblXbBjlAoOuOolW97/1yLMpvQ9RcGsCc2nA="


def test_the_defaults_install_under_opt_epn_and_restart_both_services(tmp_path):
    update = load_config(tmp_path, environ={}).update
    assert (update.url, update.trusted_keys, update.prefix, update.keep_releases) == ("", (), "/opt/epn", 3)
    assert update.restart_command == "systemctl restart epn-serve.service epn-worker.service"


def test_keys_can_come_from_the_environment_as_a_comma_separated_list(tmp_path):
    update = load_config(tmp_path, environ={"EPN_UPDATE_TRUSTED_KEYS": f"{KEY}, {KEY}"}).update
    assert update.trusted_keys == (KEY, KEY)


@pytest.mark.parametrize("key, value, fragment", [
    ("url", "ftp://releases.example", "https:// address or an absolute path"),
    ("url", "releases/", "absolute path"),
    ("trusted_keys", ["bm90IGEga2V5"], "base64 Ed25519 public keys"),
    ("keep_releases", 1, "between 2 and 20"),
    ("prefix", "opt/epn", "absolute path"),
])
def test_a_bad_update_setting_is_named_in_one_line(tmp_path, key, value, fragment):
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, overrides={"update": {key: value}}, environ={})
    assert f"update.{key}" in str(error.value) and fragment in str(error.value)


@pytest.mark.parametrize("host, url", [
    ("0.0.0.0", "http://127.0.0.1:8080/healthz"),
    ("::", "http://127.0.0.1:8080/healthz"),
    ("10.44.0.1", "http://10.44.0.1:8080/healthz"),
    ("::1", "http://[::1]:8080/healthz"),
])
def test_the_health_check_asks_the_address_the_server_listens_on(tmp_path, host, url):
    assert health_url(load_config(tmp_path, overrides={"server": {"host": host}}, environ={})) == url
