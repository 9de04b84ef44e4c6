from tests.conftest import live_session


def test_live_server_serves_the_desk_to_a_signed_in_mediator(live_server):
    session, _ = live_session(live_server)
    page = session.get(live_server.url + "/staff/")
    assert page.status_code == 200
    assert 'name="purpose"' in page.text
