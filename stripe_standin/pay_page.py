"""The hosted Checkout page a patient's browser is sent to: plain HTML forms, no JavaScript needed.

Fields carry the autocomplete tokens browsers and password managers use for cards (cc-number,
cc-exp, cc-csc, cc-name), every input has a visible label, and errors are tied to their field
(aria-describedby) and announced (role="alert").
"""

import datetime as dt
from dataclasses import dataclass, field
from html import escape

from . import flows
from .cards import HINTS, validate_card
from .money import format_amount
from .store import State

BANNER = "Test payment page — Stripe stand-in, no real money moves"
EXPIRED = "This checkout session has expired"
AUTH_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)


@dataclass
class Page:
    status: int
    body: str = ""
    headers: dict = field(default_factory=dict)


def handle(state: State, method: str, path: str, form: dict) -> Page:
    parts = path.strip("/").split("/")
    if parts[0] == "receipts" and len(parts) == 2:
        return _receipt(state, parts[1])
    if parts[0] != "pay" or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "authenticate"):
        return Page(404, _document("Not found", _message("Page not found", "There is nothing at this address.")))
    with state.lock, state.action():
        session = state.find(parts[1], "checkout.session")
        if session is None:
            return Page(404, _document("Not found", _message("Checkout session not found", "Check the link.")))
        if not flows.still_open(state, session):
            return _closed(session)
        if len(parts) == 3:
            return _authenticate(state, session, method, form)
        if method == "GET":
            return Page(200, render_form(state, session))
        return _pay(state, session, form)


def _closed(session: dict) -> Page:
    if session["status"] == "expired":
        return Page(
            200, _document(EXPIRED, _message(EXPIRED, "Go back to the site to start again.", session["cancel_url"]))
        )
    return Page(
        200,
        _document(
            "Already paid",
            _message("This checkout session is already complete", "Nothing more to pay here.", _success_url(session)),
        ),
    )


def _success_url(session: dict) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _pay(state: State, session: dict, form: dict) -> Page:
    email = flows.session_email(state, session)
    errors = {}
    if not email:
        email = (form.get("email") or "").strip()
        if "@" not in email or "." not in email.split("@")[-1]:
            errors["email"] = "Your email address is invalid." if email else "Your email is incomplete."
    today = dt.datetime.fromtimestamp(state.clock.now(), dt.UTC).date()
    card, card_errors = validate_card(
        number=form.get("card_number", ""),
        expiry=form.get("card_expiry", ""),
        cvc=form.get("card_cvc", ""),
        name=form.get("card_name", ""),
        today=today,
    )
    errors.update(card_errors)
    if errors:
        return Page(200, render_form(state, session, values=form, errors=errors))
    intent = flows.pay_with_card(state, session, card, email=email)
    if intent["status"] == "succeeded":
        return Page(303, "", {"Location": _success_url(session)})
    if intent["status"] == "requires_action":
        return Page(200, render_authentication(state, session))
    return Page(200, render_form(state, session, values=form, problem=intent["last_payment_error"]["message"]))


def _authenticate(state: State, session: dict, method: str, form: dict) -> Page:
    intent = state.find(session["payment_intent"] or "", "payment_intent")
    if intent is None or intent["status"] != "requires_action":
        return Page(303, "", {"Location": f"/pay/{session['id']}"})
    if method == "GET":
        return Page(200, render_authentication(state, session))
    complete = form.get("action") == "complete"
    intent = flows.authenticate(state, session, complete=complete)
    if intent["status"] == "succeeded":
        return Page(303, "", {"Location": _success_url(session)})
    return Page(200, render_form(state, session, problem=AUTH_FAILED))


def _receipt(state: State, charge_id: str) -> Page:
    with state.lock:
        charge = state.find(charge_id, "charge")
        if charge is None:
            return Page(404, _document("Not found", _message("Receipt not found", "Check the link.")))
        amount = format_amount(charge["amount"], charge["currency"])
        refunded = format_amount(charge["amount_refunded"], charge["currency"])
        paid_on = dt.datetime.fromtimestamp(charge["created"], dt.UTC).strftime("%d %B %Y")
        card = charge["payment_method_details"].get("card") or {}
    rows = [("Amount paid", amount), ("Date paid", paid_on), ("Status", charge["status"])]
    if card:
        rows.append(("Payment method", f"{card['brand'].title()} ending in {card['last4']}"))
    if charge["amount_refunded"]:
        rows.append(("Refunded", refunded))
    table = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    body = f"<h1>Receipt from {escape(state.settings.merchant_name)}</h1><table>{table}</table>"
    return Page(200, _document("Receipt", body))


# -- rendering -------------------------------------------------------------------------------


def _amount(session: dict) -> str:
    return format_amount(session["amount_total"], session["currency"])


def _summary(state: State, session: dict) -> str:
    items = state.private.get(session["id"], {}).get("line_items", [])
    rows = "".join(
        f"<li><span>{escape(item['description'])}"
        + (f" × {item['quantity']}" if item["quantity"] > 1 else "")
        + f"</span><span>{escape(format_amount(item['amount_total'], item['currency']))}</span></li>"
        for item in items
    )
    return (
        f'<section class="summary" aria-labelledby="merchant">'
        f'<p class="merchant" id="merchant">{escape(state.settings.merchant_name)}</p>'
        f'<p class="total">{escape(_amount(session))}</p>'
        f'<ul class="items">{rows}</ul></section>'
    )


def _field(name: str, label: str, errors: dict, value: str = "", **attrs) -> str:
    error = errors.get(name.removeprefix("card_"))
    if error is None:
        error = errors.get(name)
    described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
    extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)
    message = f'<p class="field-error" id="{name}-error">{escape(error)}</p>' if error else ""
    return (
        f'<div class="field"><label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" value="{escape(value)}"{extra}{described}>{message}</div>'
    )


def render_form(
    state: State, session: dict, *, values: dict | None = None, errors: dict | None = None, problem: str | None = None
) -> str:
    values, errors = values or {}, errors or {}
    email = flows.session_email(state, session)
    if email:
        email_field = _field("email", "Email", errors, email, type="email", readonly="readonly", autocomplete="email")
    else:
        email_field = _field(
            "email", "Email", errors, values.get("email", ""), type="email", required="required", autocomplete="email"
        )
    alert = f'<div class="alert" role="alert">{escape(problem)}</div>' if problem else ""
    if errors and not problem:
        alert = '<div class="alert" role="alert">Please correct the highlighted fields.</div>'
    back = f'<a class="back" href="{escape(session["cancel_url"])}">← Back</a>' if session["cancel_url"] else ""
    hints = "".join(f"<li><code>{number}</code> {escape(outcome)}</li>" for number, outcome in HINTS)
    body = f"""{_summary(state, session)}
<form method="post" action="/pay/{escape(session["id"])}" class="pay">
  <h1>Pay with card</h1>
  {alert}
  {email_field}
  <fieldset>
    <legend>Card information</legend>
    {
        _field(
            "card_number",
            "Card number",
            errors,
            values.get("card_number", ""),
            autocomplete="cc-number",
            inputmode="numeric",
            placeholder="1234 1234 1234 1234",
            required="required",
            maxlength="23",
        )
    }
    <div class="row">
      {
        _field(
            "card_expiry",
            "Expiry (MM / YY)",
            errors,
            values.get("card_expiry", ""),
            autocomplete="cc-exp",
            inputmode="numeric",
            placeholder="MM / YY",
            required="required",
            maxlength="7",
        )
    }
      {
        _field(
            "card_cvc",
            "CVC",
            errors,
            "",
            autocomplete="cc-csc",
            inputmode="numeric",
            placeholder="CVC",
            required="required",
            maxlength="4",
        )
    }
    </div>
  </fieldset>
  {
        _field(
            "card_name",
            "Name on card",
            errors,
            values.get("card_name", ""),
            autocomplete="cc-name",
            required="required",
        )
    }
  <button type="submit">Pay {escape(_amount(session))}</button>
  {back}
</form>
<section class="hint" aria-labelledby="test-cards">
  <h2 id="test-cards">Test cards</h2>
  <ul>{hints}</ul>
  <p>Use any future expiry date, any 3-digit CVC and any name.</p>
</section>"""
    return _document(f"Pay {state.settings.merchant_name}", body)


def render_authentication(state: State, session: dict) -> str:
    action = f"/pay/{escape(session['id'])}/authenticate"
    body = f"""{_summary(state, session)}
<section class="pay" aria-labelledby="auth-title">
  <h1 id="auth-title">Authenticate this payment</h1>
  <p>Your bank asks you to confirm the payment of {escape(_amount(session))} (a test 3-D Secure step).</p>
  <form method="post" action="{action}"><input type="hidden" name="action" value="complete">
    <button type="submit">Complete authentication</button></form>
  <form method="post" action="{action}"><input type="hidden" name="action" value="fail">
    <button type="submit" class="secondary">Fail authentication</button></form>
</section>"""
    return _document("Authenticate payment", body)


def _message(title: str, text: str, link: str | None = None) -> str:
    back = f'<p><a class="back" href="{escape(link)}">← Back</a></p>' if link else ""
    return f'<section class="pay"><h1>{escape(title)}</h1><p>{escape(text)}</p>{back}</section>'


_CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1f36;background:#f6f9fc}.banner{margin:0;padding:.6rem 1rem;background:#fff3cd;color:#5c3c00;
text-align:center;font-weight:600;border-bottom:1px solid #e0c36a}main{max-width:30rem;margin:1.5rem auto;
padding:0 1rem}.summary,.pay,.hint{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:1.25rem;
margin-bottom:1rem}.merchant{margin:0;color:#4f566b;font-weight:600}.total{margin:.25rem 0;font-size:2rem;
font-weight:700}.items{list-style:none;margin:0;padding:0}.items li{display:flex;justify-content:space-between;
gap:1rem}h1{font-size:1.25rem;margin:0 0 1rem}h2{font-size:1rem;margin:0 0 .5rem}fieldset{border:0;margin:0;
padding:0}legend{font-weight:600;margin-bottom:.25rem}.field{margin-bottom:.9rem}label{display:block;
font-size:.9rem;margin-bottom:.2rem}input{width:100%;padding:.6rem;font:inherit;border:1px solid #8792a2;
border-radius:6px}input[readonly]{background:#f0f3f7}input:focus,button:focus,a:focus{outline:3px solid #635bff;
outline-offset:1px}input[aria-invalid=true]{border-color:#c0123c}.row{display:flex;gap:.75rem}.row .field{flex:1}
.field-error{color:#c0123c;margin:.25rem 0 0;font-size:.9rem}.alert{background:#fde8ec;color:#8a0c2c;
border:1px solid #f2b8c6;border-radius:6px;padding:.6rem;margin-bottom:1rem}button{width:100%;padding:.75rem;
font:inherit;font-weight:600;color:#fff;background:#635bff;border:0;border-radius:6px;cursor:pointer;
margin-bottom:.75rem}button.secondary{background:#4f566b}.back{color:#4f566b}code{font-size:.95rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e3e8ee}
"""


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><p class="banner" role="note">{BANNER}</p></header>
<main>
{body}
</main>
</body>
</html>
"""
