"""Configuration: defaults, YAML file, EPN_* overrides, one-line errors, documented keys."""

from pathlib import Path

import pytest
import yaml

from appliance.config import ConfigError, load_config, setting_keys

EXAMPLE = Path(__file__).parent.parent / "appliance" / "config.example.yaml"


def test_defaults_apply_when_the_data_directory_has_no_file(tmp_path):
    config = load_config(tmp_path, environ={})
    assert config.server.port == 8080
    assert config.site.timezone == "Europe/Brussels"
    assert config.retention.member_days == 730


def test_the_yaml_file_overrides_defaults_and_the_environment_overrides_the_file(tmp_path):
    (tmp_path / "config.yaml").write_text("server:\n  port: 9000\n  workers: 3\n")
    config = load_config(tmp_path, environ={"EPN_SERVER_PORT": "9100"})
    assert config.server.port == 9100
    assert config.server.workers == 3


def test_a_bad_value_names_the_key_the_value_and_what_is_expected(tmp_path):
    (tmp_path / "config.yaml").write_text("server:\n  port: eighty\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, environ={})
    message = str(error.value)
    assert "server.port" in message and "'eighty'" in message and "integer between 1 and 65535" in message
    assert "\n" not in message


def test_a_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="EPN_STAFF_SESSION_HOURS"):
        load_config(tmp_path, environ={"EPN_STAFF_SESSION_HOURS": "-3"})


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("site:\n  timezone: Mars/Olympus\n", "site.timezone"),
        ("site:\n  postal_code: 10600\n", "4-digit"),
        ("site:\n  default_language: de\n", "one of fr, nl, en"),
        ("staff:\n  allowed_networks: [not-a-net]\n", "staff.allowed_networks"),
        ("server:\n  tls: maybe\n", "true or false"),
        ("server:\n  colour: blue\n", "server.colour: unknown setting"),
        ("printers: {}\n", "printers: unknown section"),
        ("site: [1, 2\n", "not valid YAML"),
    ],
)
def test_each_kind_of_mistake_is_refused_with_a_clear_line(tmp_path, text, fragment):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError, match=None) as error:
        load_config(tmp_path, environ={})
    assert fragment in str(error.value)


def test_municipality_names_in_french_or_dutch_become_one_nis_code(tmp_path):
    french = load_config(tmp_path, overrides={"site": {"commune": "Saint-Gilles"}}, environ={})
    dutch = load_config(tmp_path, overrides={"site": {"commune": "sint-gillis"}}, environ={})
    assert french.site.commune == dutch.site.commune == "21013"
    with pytest.raises(ConfigError, match="unknown municipality"):
        load_config(tmp_path, overrides={"site": {"commune": "Atlantis"}}, environ={})


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    first = load_config(tmp_path, environ={}).secret_key
    assert load_config(tmp_path, environ={}).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented_in_the_example_file_and_nothing_else():
    example = yaml.safe_load(EXAMPLE.read_text())
    documented = {f"{section}.{key}" for section, keys in example.items() for key in (keys or {})}
    assert documented == set(setting_keys())


def test_the_example_file_itself_is_a_valid_configuration(tmp_path):
    (tmp_path / "config.yaml").write_text(EXAMPLE.read_text())
    assert load_config(tmp_path, environ={}).server.workers == 2
