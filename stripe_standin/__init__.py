"""A local stand-in for the parts of Stripe's API this project uses.

It runs as its own process on 127.0.0.1 (``python -m stripe_standin``), answers in Stripe's wire
format, enforces Stripe's rules (expires_at window, idempotency, refundable amounts), serves a
hosted Checkout pay page and delivers signed webhooks. Standard library only, so it starts
anywhere the project's Python does and never reaches the internet.

Map of the package:
    server.py     HTTP front: API key, Request-Id, idempotency, the failure switch, routing
    api.py        /v1 endpoints (parameter checks in Stripe's words)
    flows.py      what happens when money moves, and the events it emits
    objects.py    Stripe object shapes;  expand.py  `expand[]`;  forms.py  nested form encoding
    pay_page.py   /pay/<session id>, the hosted page;  cards.py  card checks and test cards
    webhooks.py   signed delivery with retries;  control.py  /_standin (tests and the demo)
    testing.py    StandinProcess, to run one in a subprocess
"""
