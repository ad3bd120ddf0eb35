"""Sign-in brute force: after five failures for one user name from one address, that pair is locked out
(the app's and the admin's login pages), with a clear page; another address still signs in; an admin
command unlocks."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import PASSWORD

BAD = "not-the-password"


def attempt(client, url, username, password, address="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", [reverse("login"), "/django-admin/login/"])
def test_five_failures_lock_the_user_out_from_that_address(actors, client, url):
    user = actors.admin
    if url.startswith("/django-admin"):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    for _ in range(4):
        assert attempt(client, url, user.username, BAD).status_code == 200  # the form again, with its error
    locked = attempt(client, url, user.username, BAD)
    assert locked.status_code == 429 and "Sign-in locked" in locked.content.decode()
    # Even the right password is refused from there now...
    again = attempt(client, url, user.username, PASSWORD)
    assert again.status_code == 429 and "_auth_user_id" not in client.session
    # ... but not from another address, and an admin command unlocks.
    assert attempt(client, url, user.username, PASSWORD, address="10.0.0.2").status_code == 302
    client.logout()
    call_command("axes_reset_username", user.username)
    assert attempt(client, url, user.username, PASSWORD).status_code == 302


def test_a_success_clears_the_count(actors, client):
    url = reverse("login")
    for _ in range(4):
        attempt(client, url, actors.admin.username, BAD)
    assert attempt(client, url, actors.admin.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, url, actors.admin.username, BAD).status_code == 200
