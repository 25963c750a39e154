"""/api/v1 tokens: list, create (the secret shown once) and revoke API tokens."""
from __future__ import annotations

from flask import g

from engine.access import accounts

from web.api.core import bp, operation
from web.api.schemas.tokens import TokenArgs, TokenCreatedSchema, TokenCreateSchema, TokenListSchema, TokenSchema
from web.db import get_session, runtime


@bp.get("/tokens")
@operation("List API tokens", tag="tokens", query=TokenArgs, response=TokenListSchema, errors=(403, 404),
           description="Your tokens, revoked ones included (never their secrets). An admin may name another `user`.")
def list_tokens(args):
    return {"items": accounts.list_tokens(get_session(), runtime(), g.user, args.get("user"))}


@bp.post("/tokens")
@operation("Create an API token", tag="tokens", body=TokenCreateSchema, response=TokenCreatedSchema, status=201,
           errors=(403, 404), description="The secret is in `token`, shown only here. A token acts with exactly "
           "its user's roles and scope. An admin may create one for another `user`.")
def create_token(body):
    session = get_session()
    row, secret = accounts.create_token(session, runtime(), g.user, body["name"], body.get("user"))
    session.commit()
    row.token = secret
    return row


@bp.delete("/tokens/<int:token_id>")
@operation("Revoke an API token", tag="tokens", response=TokenSchema, errors=(404,),
           description="Your own, or (an admin) anyone's; the token stops working at once. Revoking twice is harmless.")
def revoke_token(token_id: int):
    session = get_session()
    row = accounts.revoke_token(session, runtime(), g.user, token_id)
    session.commit()
    return row
