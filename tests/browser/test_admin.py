"""The administration pages in a browser: an admin creates a user with a role, the user signs in
once with the initial code shown once, chooses their password and sees their work, the admin
deactivates them and their sign-in is refused."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import DESKTOP

pytestmark = pytest.mark.browser


def test_an_admin_creates_a_user_who_signs_in_and_is_refused_once_deactivated(pages):
    admin = pages.open("admin")
    admin.click("nav.main-nav >> text=系统管理")
    admin.wait_for_url(re.compile(r"/admin/users"))
    admin.click("text=新建用户")
    admin.fill("input[name=username]", "clerk_browser")
    admin.fill("input[name=name]", "浏览器受理员")
    admin.select_option("select[name=role-0]", "acceptance_clerk")
    admin.fill("input[name=org_unit-0]", "110101001")
    pages.shot(admin, "new-user-form")
    admin.click("form button.primary")
    code = admin.text_content("#initial-code").strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){4}", code)
    pages.shot(admin, "initial-code")

    clerk = pages.browser.new_context(base_url=pages.base_url, viewport=DESKTOP, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
    pages.contexts.append(clerk)
    page = clerk.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "clerk_browser")
    page.fill("input[name=password]", code)
    page.click("form button.primary")
    # The code only leads to choosing a password; then they sign in with theirs.
    assert "设置" in page.text_content("h1") and "浏览器受理员" in page.text_content("main")
    password = "browser-clerk-password"
    page.fill("#in-password", password)
    page.fill("#in-repeated", password)
    pages.shot(page, "choose-password")
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=username]", "clerk_browser")
    page.fill("input[name=password]", password)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/inbox"))
    assert "浏览器受理员" in page.text_content("header")
    # A clerk has no administration pages.
    assert page.locator("nav.main-nav >> text=系统管理").count() == 0
    pages.shot(page, "new-user-inbox")

    admin.click("text=返回该用户")
    admin.click("button[name=active][value='0']")
    assert "已停用" in admin.text_content("main")
    pages.shot(admin, "deactivated")

    # The open session is over, and signing in again is refused.
    page.goto("/inbox")
    page.wait_for_url(re.compile(r"/login"))
    page.fill("input[name=username]", "clerk_browser")
    page.fill("input[name=password]", password)
    page.click("form button.primary")
    assert "用户名或密码错误" in page.text_content("main")
    pages.shot(page, "sign-in-refused")

    admin.click("nav.admin-nav >> text=变更记录")
    history = admin.text_content("main")
    assert "clerk_browser" in history and "已停用" in history
    pages.shot(admin, "history")
