"""Schemathesis hooks for scripts/api-contract.sh.

A list's `cursor` and the catalog's `since` are opaque values the server issued (the document
says so, and lists their `400`): no generator can make one, so generated positive requests leave
them out; negative requests still send broken ones (and must get `400`). scripts/api-contract.sh
walks real cursors by itself.
"""

import schemathesis

OPAQUE = ("cursor", "since")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is None or not case.query:
        return
    query = meta.components.get("query")
    if query is not None and str(query.mode) == "positive":
        for name in OPAQUE:
            case.query.pop(name, None)
