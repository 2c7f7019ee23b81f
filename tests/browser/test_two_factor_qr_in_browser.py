"""The QR code a delivery partner (or a staff user) scans on first sign-in, in a real browser with
the Content Security Policy on: the image decodes (an SVG data URI without its namespace shows
only its alt text), it draws the device's own key, and the code the app then shows turns
two-factor sign-in on."""

import pytest
import segno
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QR_IMAGE = "img[alt^='QR code']"
# The image's pixels as the browser decoded them, one 0 (light) or 1 (dark) each, row by row.
DECODED_PIXELS = """selector => {
    const image = document.querySelector(selector);
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const dark = [];
    for (let index = 0; index < data.length; index += 4) dark.push(data[index] < 128 ? 1 : 0);
    return {width: canvas.width, height: canvas.height, dark};
}"""


def test_a_delivery_partner_signing_in_for_the_first_time_sees_a_qr_code_that_renders_their_key(
    page, frontend_loaded, delivery_partner_user
):
    TOTPDevice.objects.filter(user=delivery_partner_user).delete()  # first sign-in: no app set up yet

    page.goto("/accounts/login/")
    frontend_loaded(page)
    page.get_by_label("E-mail address").fill(delivery_partner_user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(lambda url: "/accounts/two-factor/set-up/" in url)
    expect(page.get_by_role("img", name="QR code")).to_be_visible()
    page.wait_for_function(f"() => document.querySelector({QR_IMAGE!r}).complete")
    assert page.evaluate(f"() => document.querySelector({QR_IMAGE!r}).naturalWidth") > 0

    # Module by module, the picture is the QR code of this person's new key.
    device = TOTPDevice.objects.get(user=delivery_partner_user, confirmed=False)
    expected = segno.make(device.config_url, error="m")
    scale, border = 5, 4
    pixels = page.evaluate(DECODED_PIXELS, QR_IMAGE)
    assert pixels["width"] == pixels["height"] == expected.symbol_size(scale=scale, border=border)[0]
    for row, modules in enumerate(expected.matrix):
        for column, module in enumerate(modules):
            x, y = (column + border) * scale + scale // 2, (row + border) * scale + scale // 2
            assert pixels["dark"][y * pixels["width"] + x] == (1 if module else 0), (row, column)

    page.get_by_label("Security code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("navigation", name="Account")).to_contain_text(delivery_partner_user.email)
    device.refresh_from_db()
    assert device.confirmed
