"""The administration pages in a browser: an admin creates a user with a role, the user signs in
with the password shown once and sees their work, the admin deactivates them and their sign-in is
refused."""
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
    password = admin.text_content("#initial-password").strip()
    assert password
    pages.shot(admin, "initial-password")

    clerk = pages.browser.new_context(base_url=pages.base_url, viewport=DESKTOP, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
    pages.contexts.append(clerk)
    page = clerk.new_page()
    page.goto("/login")
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
