"""Manage tokens are made without the library's zlib attempt: the same tokens all the same."""

from __future__ import annotations

from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from service.subscriptions import tokens


def test_a_manage_token_is_the_one_the_library_makes_and_loads(app: Flask) -> None:
    with app.app_context():
        library = URLSafeTimedSerializer(app.config["SECRET_KEY"],
                                         salt="newsroom.subscriptions.manage")
        for subscriber_id, version, email in [(1, 0, "a@example.org"),
                                              (2_147_483_647, 12, "Ünïcode@bücher.example")]:
            ours = tokens.ManageTokens().make(subscriber_id, version, email)
            theirs = library.dumps([subscriber_id, version, tokens.address_tag(email)])
            # payload and timestamp are signed: only the timestamp may tick between the two
            assert ours.split(".")[0] == theirs.split(".")[0]
            assert library.loads(ours) == [subscriber_id, version, tokens.address_tag(email)]
            loaded = tokens.load_manage_token(ours)
            assert (loaded.subscriber_id, loaded.version) == (subscriber_id, version)
            assert loaded.address == tokens.address_tag(email)
