"""Lists and their members."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import invalid, not_found
from mastod.sandbox.pagination import paginate
from mastod.sandbox.params import Params
from mastod.sandbox.respond import empty, ok, paged
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.misc import user_list

routes = web.RouteTableDef()

_POLICIES = ("followed", "list", "none")


def _own_list(c: Caller) -> r.UserList:
    lst = c.sb.lists.get(c.path_id())
    if lst is None or lst.account_id != c.me:
        raise not_found()
    return lst


def _apply(lst: r.UserList, p: Params) -> None:
    title = p.string("title")
    if title is not None:
        if not title.strip():
            raise invalid("Title can't be blank")
        lst.title = title
    policy = p.string("replies_policy")
    if policy is not None:
        if policy not in _POLICIES:
            raise invalid("Replies policy is not included in the list")
        lst.replies_policy = policy
    if p.has("exclusive"):
        lst.exclusive = p.flag("exclusive", False)


@routes.get("/api/v1/lists")
async def get_lists(request: web.Request) -> web.Response:
    c = caller(request, "read:lists")
    return ok([user_list(lst) for lst in c.sb.lists.values() if lst.account_id == c.me])


@routes.post("/api/v1/lists")
async def create_list(request: web.Request) -> web.Response:
    c = caller(request, "write:lists")
    if not c.params.text("title").strip():
        raise invalid("Title can't be blank")
    lst = r.UserList(c.sb.next_id("list"), c.me, "")
    _apply(lst, c.params)
    c.sb.lists[lst.id] = lst
    return ok(user_list(lst))


@routes.get("/api/v1/lists/{id}")
async def get_list(request: web.Request) -> web.Response:
    c = caller(request, "read:lists")
    return ok(user_list(_own_list(c)))


@routes.put("/api/v1/lists/{id}")
async def update_list(request: web.Request) -> web.Response:
    c = caller(request, "write:lists")
    lst = _own_list(c)
    _apply(lst, c.params)
    return ok(user_list(lst))


@routes.delete("/api/v1/lists/{id}")
async def delete_list(request: web.Request) -> web.Response:
    c = caller(request, "write:lists")
    del c.sb.lists[_own_list(c).id]
    return empty()


@routes.get("/api/v1/lists/{id}/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    c = caller(request, "read:lists")
    lst = _own_list(c)
    rows = [(m.id, m.target_id) for m in lst.members.values()]
    page = paginate(request, c.params, rows, default=40, maximum=80, unlimited_zero=True)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))


@routes.post("/api/v1/lists/{id}/accounts")
async def add_list_accounts(request: web.Request) -> web.Response:
    """Add accounts the owner follows; an unknown or unfollowed account is a 404 (`find_by!`)."""
    c = caller(request, "write:lists")
    lst = _own_list(c)
    targets = [c.sb.account(i).id for i in c.params.array("account_ids")]
    for target in targets:
        if target != c.me and not c.sb.is_following(c.me, target):
            raise not_found()
        if target in lst.members:
            raise invalid("Account has already been taken")
    for target in targets:
        lst.members[target] = r.Link(c.sb.next_id("list_account"), lst.id, target)
    return empty()


@routes.delete("/api/v1/lists/{id}/accounts")
async def remove_list_accounts(request: web.Request) -> web.Response:
    c = caller(request, "write:lists")
    lst = _own_list(c)
    for target in c.params.array("account_ids"):
        lst.members.pop(target, None)
    return empty()
