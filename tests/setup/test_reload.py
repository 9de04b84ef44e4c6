"""The served app follows config.yaml: after the wizard writes it, each worker builds the
app again from it; a file the loader refuses changes nothing."""

from __future__ import annotations

from pathlib import Path

from appliance.config import load_config
from appliance.setup.finish import write_settings
from appliance.web import create_app


def brand(client) -> str:  # type: ignore[no-untyped-def]
    html = client.get("/staff/login").get_data(as_text=True)
    return html.split('<div class="brand">', 1)[1].split("</div>", 1)[0]


def test_a_changed_config_file_is_served_from_the_next_request(data_dir: Path):
    app = create_app(load_config(data_dir))  # as `epn serve` builds it: not a test app
    client = app.test_client()
    assert brand(client) == "EPN Test"
    write_settings(data_dir, {"site": {"name": "EPN Nouveau", "timezone": "Europe/Paris"}})
    assert brand(client) == "EPN Nouveau"
    assert "timezone: Europe/Paris" in (data_dir / "config.yaml").read_text()


def test_a_config_file_the_loader_refuses_keeps_the_last_good_settings(data_dir: Path, caplog):
    client = create_app(load_config(data_dir)).test_client()
    (data_dir / "config.yaml").write_text("site:\n  name: EPN Cassé\n  computers: many\n", encoding="utf-8")
    assert brand(client) == "EPN Test"
    assert "settings not reloaded" in caplog.text and "site.computers" in caplog.text


def test_write_settings_refuses_a_bad_value_and_leaves_the_file_as_it_was(data_dir: Path):
    before = (data_dir / "config.yaml").read_text()
    try:
        write_settings(data_dir, {"site": {"computers": "many"}})
    except Exception as error:  # noqa: BLE001
        assert "site.computers" in str(error)
    else:
        raise AssertionError("a bad value was written")
    assert (data_dir / "config.yaml").read_text() == before
    assert not [path for path in data_dir.iterdir() if path.name.startswith(".setup-")]


def test_test_apps_are_not_rebuilt(data_dir: Path):
    client = create_app({"DATA_DIR": data_dir, "TESTING": True}).test_client()
    write_settings(data_dir, {"site": {"name": "EPN Nouveau"}})
    assert brand(client) == "EPN Test"
