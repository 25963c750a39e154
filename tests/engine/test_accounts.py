"""API tokens: each user manages their own, an admin anyone's; a revoked token stops working."""
from __future__ import annotations

import pytest

from engine.access import accounts
from engine.errors import Forbidden, InputError, NotFound


def test_a_user_creates_lists_and_revokes_their_own_tokens(driver):
    clerk = driver.user("clerk_dhm")
    row, secret = accounts.create_token(driver.session, driver.rt, clerk, " laptop ")
    driver.session.commit()
    assert row.name == "laptop" and secret.startswith("gf_") and row.token_hash != secret
    assert accounts.user_for_token(driver.session, driver.rt, secret).username == "clerk_dhm"
    assert [t.id for t in accounts.list_tokens(driver.session, driver.rt, clerk)] == [row.id]
    accounts.revoke_token(driver.session, driver.rt, clerk, row.id)
    driver.session.commit()
    assert row.revoked_at is not None
    assert accounts.user_for_token(driver.session, driver.rt, secret) is None
    # Revoking again keeps the first time.
    first = row.revoked_at
    assert accounts.revoke_token(driver.session, driver.rt, clerk, row.id).revoked_at == first


def test_only_an_admin_manages_other_users_tokens(driver):
    clerk, other, admin = driver.user("clerk_dhm"), driver.user("clerk_js"), driver.user("admin")
    row, _ = accounts.create_token(driver.session, driver.rt, other, "phone")
    with pytest.raises(Forbidden):
        accounts.list_tokens(driver.session, driver.rt, clerk, "clerk_js")
    with pytest.raises(Forbidden):
        accounts.create_token(driver.session, driver.rt, clerk, "x", username="clerk_js")
    with pytest.raises(NotFound):  # someone else's token id does not leak
        accounts.revoke_token(driver.session, driver.rt, clerk, row.id)
    made, secret = accounts.create_token(driver.session, driver.rt, admin, "for js", username="clerk_js")
    assert made.user_id == other.id
    driver.session.commit()
    # The token acts as its user, not as the admin who made it.
    assert accounts.user_for_token(driver.session, driver.rt, secret).username == "clerk_js"
    assert {t.id for t in accounts.list_tokens(driver.session, driver.rt, admin, "clerk_js")} == {row.id, made.id}
    accounts.revoke_token(driver.session, driver.rt, admin, row.id)
    assert row.revoked_at is not None
    with pytest.raises(NotFound):
        accounts.list_tokens(driver.session, driver.rt, admin, "nobody")
    with pytest.raises(InputError):
        accounts.create_token(driver.session, driver.rt, clerk, "n" * 101)
