"""Small helpers the browser tests share."""

import time


def wait_for(condition, *, timeout: float = 10.0) -> None:
    """Until `condition()` holds: what the stand-in's webhooks do reaches the database a moment
    after the page that caused it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def authenticator_app(user):
    """`user`'s confirmed authenticator app: made here when they have none, as if they had set it
    up on an earlier day (before the password step, or the site would ask them to set one up)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def authenticator_code(user) -> str:
    """The code `user`'s authenticator app shows, as a person reads it off their phone.

    A code is accepted once: when this 30 s step's code was used already (two log-ins in a row),
    the next step's is given (the server accepts one step either side), or it waits for one."""
    from accounts.two_factor import code_at_step, current_step

    device = authenticator_app(user)
    deadline = time.monotonic() + device.step + 5
    while True:
        device.refresh_from_db()
        now_step = current_step(device, time.time())
        step = max(now_step, device.last_t + 1)
        if step <= now_step + device.tolerance:
            return code_at_step(device, step)
        assert time.monotonic() < deadline, "no unused code came up"
        time.sleep(0.5)


def enter_authenticator_code(page, user) -> None:
    """On the code page after a staff member's or doctor's password: type the app's code."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("6-digit code").fill(authenticator_code(user))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
