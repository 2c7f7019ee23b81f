"""Load mix for bench/load.py: practice users ticking their checklist, delivery partners opening
their dashboard. Run by bench/load.py, which prepares the database and the users and passes them
in the JSON file named by LOAD_USERS_FILE; it is not meant to be run on its own.

The app runs as in production (DJANGO_DEBUG=false) behind what would be the TLS proxy: every
request says X-Forwarded-Proto: https, and X-Forwarded-For the person's own address, as the proxy
would add them. Production cookies are Secure (and __Host-), which a client sends only over
HTTPS; this process's cookie policy is changed to send them over the loopback's plain HTTP too,
as the proxy does. (requests copies cookies into fresh jars with the default policy, redirects
included, so the change is made on the policy class rather than on one session's jar.)

Each person signs in through the real form (GET, then POST with the CSRF token). If sign-in
leads to a two-factor page (a URL with "two-factor"), the code is computed from the device key
bench/load.py gave the user, with django_otp.oath.totp, and posted.

Request names, as the figures print them:
    GET /accounts/login/, POST /accounts/login/, GET landing page after sign-in (redirects
    followed: a practice user's migration page, a delivery partner's dashboard or the two-factor
    page), POST two-factor code
    GET /migrations/[id]/               a practice user's migration page
    POST .../complete/ (tick, htmx)     mark an item done, answered with the item's fragment
    POST .../reopen/ (tick, htmx)       reopen a done item
    GET / (dashboard)                   a delivery partner's landing page, redirects followed
"""

import itertools
import json
import os
import random
import re
from html.parser import HTMLParser
from http import cookiejar
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

if "LOAD_USERS_FILE" not in os.environ:
    raise SystemExit("bench/locustfile.py is run by bench/load.py: .venv/bin/python bench/load.py")
with open(os.environ["LOAD_USERS_FILE"]) as users_file:
    USERS = json.load(users_file)
# Seconds each person waits between requests (bench/load.py --think), reading the page or the item.
THINK_SECONDS = [float(seconds) for seconds in os.environ.get("LOAD_THINK_SECONDS", "2-8").split("-")]
_practice_accounts = itertools.cycle(USERS["practice"])
_partner_accounts = itertools.cycle(USERS["delivery_partner"])
# Secure cookies go back over the loopback's plain HTTP: this client stands in for the TLS proxy.
cookiejar.DefaultCookiePolicy.return_ok_secure = lambda policy, cookie, request: True
# X-Forwarded-For, one address per person, as the proxy appends it (sign-in locks and limits are per address).
_addresses = (f"10.{number // 250}.{number % 250}.{number % 7 + 1}" for number in itertools.count(1))

# Every request, for bench/load.py to work out the figures after sign-in: start, name, ms, failed.
_requests: list[str] = []


@events.request.add_listener
def log_request(name: str, response_time: float, exception, start_time: float | None = None, **kwargs) -> None:
    _requests.append(f"{start_time or 0:.3f}\t{name}\t{response_time:.1f}\t{int(exception is not None)}\n")


@events.quitting.add_listener
def write_request_log(**kwargs) -> None:
    if "LOAD_REQUESTS_FILE" in os.environ:
        with open(os.environ["LOAD_REQUESTS_FILE"], "w") as request_log:
            request_log.writelines(_requests)


TICK_COMPLETE = "POST /migrations/[id]/items/[id]/complete/ (tick, htmx)"
TICK_REOPEN = "POST /migrations/[id]/items/[id]/reopen/ (tick, htmx)"
MIGRATION_PAGE = "GET /migrations/[id]/"
DASHBOARD = "GET / (dashboard)"


class PostForms(HTMLParser):
    """The page's POST forms, each as its hidden inputs (with values) and the names of the fields
    a person fills in."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict[str, str], list[str]]] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._in_form = True
            self.forms.append(({}, []))
        elif tag == "input" and self._in_form and attributes.get("name"):
            hidden, visible = self.forms[-1]
            if attributes.get("type") == "hidden":
                hidden[attributes["name"]] = attributes.get("value") or ""
            elif attributes.get("type") not in ("submit", "button", "checkbox", "radio"):
                visible.append(attributes["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def form_to_fill(html: str) -> tuple[dict[str, str], list[str]]:
    """The first POST form with a field to fill in (not the header's sign-out button)."""
    parser = PostForms()
    parser.feed(html)
    return next(((hidden, visible) for hidden, visible in parser.forms if visible), ({}, []))


class Person(HttpUser):
    abstract = True
    wait_time = between(*THINK_SECONDS)
    account: dict

    def on_start(self) -> None:
        origin = "https://" + urlsplit(self.host).netloc
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": next(_addresses),
                "Origin": origin,
                "Referer": origin + "/",
            }
        )
        self.sign_in()

    def csrf_token(self) -> str:
        return next(cookie.value for cookie in self.client.cookies if cookie.name.endswith("csrftoken"))

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="GET /accounts/login/")
        hidden, _ = form_to_fill(page.text)
        fields = hidden | {"username": self.account["email"], "password": self.account["password"]}
        with self.client.post(
            "/accounts/login/", data=fields, name="POST /accounts/login/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}, not a redirect")
                raise RuntimeError(f"{self.account['email']} could not sign in")
            location = response.headers["Location"]
        landing = self.client.get(location, name="GET landing page after sign-in")
        if "two-factor" in landing.url:
            self.second_factor(landing.url, landing.text)

    def second_factor(self, url: str, page: str) -> None:
        from django_otp.oath import totp  # only needed when the two-factor step exists

        hidden, visible = form_to_fill(page)
        code_field = "code" if "code" in visible else (visible or ["otp_token"])[0]
        code = f"{totp(bytes.fromhex(self.account['totp_key'])):06d}"
        with self.client.post(
            url,
            data=hidden | {code_field: code},
            name="POST two-factor code",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "two-factor" in response.headers.get("Location", ""):
                response.failure(f"two-factor code refused ({response.status_code})")
                raise RuntimeError(f"{self.account['email']} could not pass two-factor sign-in")


class PracticeUser(Person):
    """A practice manager working through their migration's checklist: mostly ticking items done
    (and now and then reopening one), sometimes reloading the whole page."""

    weight = 4

    def on_start(self) -> None:
        self.account = next(_practice_accounts)
        self.migration = self.account["migration_id"]
        # item id -> (done, revision), as the driver read them; kept up to date from the answers.
        self.items = {item["id"]: (item["done"], item["revision"]) for item in self.account["items"]}
        super().on_start()

    @task(1)
    def migration_page(self) -> None:
        with self.client.get(f"/migrations/{self.migration}/", name=MIGRATION_PAGE, catch_response=True) as response:
            if response.ok and f'id="item-{next(iter(self.items))}"' not in response.text:
                response.failure("the migration page does not show the checklist")

    @task(4)
    def tick(self) -> None:
        item, (done, revision) = random.choice(list(self.items.items()))
        base = f"/migrations/{self.migration}/items/{item}"
        headers = {"HX-Request": "true", "HX-Target": f"item-{item}", "X-CSRFToken": self.csrf_token()}
        if done:
            action, name, data = "reopen", TICK_REOPEN, {"revision": revision}
        else:
            action, name, data = "complete", TICK_COMPLETE, {}
        with self.client.post(
            f"{base}/{action}/", data=data, headers=headers, name=name, catch_response=True
        ) as answer:
            if not answer.ok:
                return  # counted as a failure with its status
            # The answer is the item again: done shows a Reopen form with the new revision,
            # open shows the Mark as done form.
            reopen = re.search(rf'action="{base}/reopen/".*?name="revision" value="(\d+)"', answer.text, re.S)
            if action == "complete" and reopen:
                self.items[item] = (True, int(reopen.group(1)))
            elif action == "reopen" and f'action="{base}/complete/"' in answer.text:
                self.items[item] = (False, revision + 1)
            else:
                answer.failure(f"the item did not change: {action} of item {item}")


class DeliveryPartnerUser(Person):
    """A delivery partner's project manager opening the tracker: "/" lands on their dashboard."""

    weight = 1

    def on_start(self) -> None:
        self.account = next(_partner_accounts)
        super().on_start()

    @task
    def dashboard(self) -> None:
        with self.client.get("/", name=DASHBOARD, catch_response=True) as response:
            path = urlsplit(response.url).path
            if response.ok and (path.startswith("/accounts/") or "two-factor" in path):
                response.failure(f"landed on {path}, not the dashboard")
