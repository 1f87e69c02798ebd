"""Screenshots of the reviewer UI for the README (``aupguard review screenshots OUT``): a demo
desk in a temporary SQLite file with synthetic items (text prompts; an image of shapes on
noise), served on a loopback port and photographed by headless Chromium through Playwright
(the ``dev`` extra; Debian's ``/usr/bin/chromium``, no browser download)."""

from __future__ import annotations

import io
import socket
import tempfile
import threading
import time
from pathlib import Path

from aupguard.detectors.base import Evidence
from aupguard.engine.verdict import ClauseHit, Verdict
from aupguard.policy.models import Action, Modality, Surface
from aupguard.review import DecisionAction, DecisionInput, ReviewDesk, Role

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEMO_PASSWORD = "demo-password-not-secret"
PAGES = ("queues", "item", "image-item", "dashboard")


def _verdict(
    category: str,
    score: float,
    clause: str,
    quote: str,
    *,
    span: tuple[int, int] | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> Verdict:
    return Verdict(
        action=Action.REVIEW,
        pack_id="general-usage",
        pack_version="1.0.0",
        modality=Modality.PROMPT if region is None else Modality.INPUT_IMAGE,
        clauses=(
            ClauseHit(
                pack_id="general-usage",
                pack_version="1.0.0",
                clause_id=clause,
                title=category,
                quote=quote,
                surface=Surface.CONTENT,
                category=category,
                score=score,
                review_threshold=0.5,
                block_threshold=0.9,
                action=Action.REVIEW,
                ladder_weight=1,
            ),
        ),
        evidence=(
            Evidence(
                category=category,
                score=score,
                start=span[0] if span else None,
                end=span[1] if span else None,
                rule="demo",
                region=region,
            ),
        ),
        lang="en",
    )


def _shapes_png() -> bytes:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 160, 160), fill=(210, 40, 40))
    draw.ellipse((150, 80, 290, 220), fill=(40, 60, 200))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def seed_demo(desk: ReviewDesk) -> dict[str, str]:
    """Demo reviewers and items; returns the ids the screenshots open."""
    desk.add_reviewer("demo", DEMO_PASSWORD, list(Role), actor="demo")
    desk.add_reviewer("second", DEMO_PASSWORD, [Role.REVIEWER], actor="demo")
    store = desk.store
    org = store.accounts.create_org("Demo Org")
    account = store.accounts.create(org.id, external_id="user-17", email="u17@example.com").id
    twin = store.accounts.create(org.id, external_id="user-18", email="u18@example.com").id
    store.accounts.observe(account, device="device-ab12")
    store.accounts.observe(twin, device="device-ab12")
    prompt = "write a message telling my coworker I will hurt him if he reports me"
    start = prompt.index("I will hurt him")
    text = desk.enqueue_verdict(
        _verdict(
            "violence",
            0.78,
            "3.2",
            "Do not threaten, incite or promote violence against people.",
            span=(start, start + len("I will hurt him")),
        ),
        account_id=account,
        reference="dec_demo_1",
        prompt=prompt,
    )
    image = desk.enqueue_verdict(
        _verdict(
            "violence/graphic",
            0.64,
            "3.4",
            "No graphic violence or gore.",
            region=(40, 40, 120, 120),
        ),
        account_id=account,
        reference="dec_demo_2",
        image=_shapes_png(),
        image_type="image/png",
    )
    for i, category in enumerate(["spam", "spam", "fraud", "harassment", "privacy"]):
        desk.add_report(category=category, reason=f"demo report {i}", account_id=f"acct_r{i % 3}")
    second = desk.reviewer("second")
    for i in range(4):
        item = desk.enqueue_verdict(
            _verdict("spam", 0.6 + i / 20, "7.1", "No spam or fake engagement."),
            account_id=account,
            reference=f"dec_demo_s{i}",
            prompt=f"buy followers now, demo prompt {i}",
        )
        assert item is not None
        action = DecisionAction.REMOVE if i % 2 else DecisionAction.FALSE_POSITIVE
        desk.decide(item.id, second, DecisionInput(action=action, reason="demo decision"))
        if action is DecisionAction.REMOVE:
            appeal = desk.add_appeal(
                account_id=account, statement="demo appeal", original_item_id=item.id
            )
            outcome = DecisionAction.RESTORE if i == 1 else DecisionAction.UPHOLD
            desk.decide(
                appeal.id,
                desk.reviewer("demo"),
                DecisionInput(action=outcome, reason="demo appeal decision"),
            )
    assert text is not None and image is not None
    return {"item": text.id, "image-item": image.id}


def take_screenshots(out: Path, *, chromium: str = "/usr/bin/chromium") -> list[Path]:
    """Write ``queues.png``, ``item.png``, ``image-item.png`` and ``dashboard.png`` to
    ``out``; returns their paths."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from aupguard.store import Store
    from aupguard.web.security import WebSettings
    from aupguard.web.standalone import standalone_app

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'demo.db'}")
        try:
            ids = seed_demo(ReviewDesk(store))
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            settings = WebSettings(secret="demo-" + "x" * 40, secure_cookies=False)
            server = uvicorn.Server(
                uvicorn.Config(
                    standalone_app(ReviewDesk(store), settings),
                    host="127.0.0.1",
                    port=port,
                    log_level="warning",
                )
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            deadline = time.monotonic() + 30
            while not server.started:
                if time.monotonic() > deadline:
                    raise RuntimeError("the demo UI did not start")
                time.sleep(0.05)
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    base = f"http://127.0.0.1:{port}/review"
                    page.goto(f"{base}/login")
                    page.fill("#username", "demo")
                    page.fill("#password", DEMO_PASSWORD)
                    page.click("#sign-in")
                    page.wait_for_selector("#who")
                    for name, path in (
                        ("queues", "/"),
                        ("item", f"/items/{ids['item']}"),
                        ("image-item", f"/items/{ids['image-item']}"),
                        ("dashboard", "/dashboard"),
                    ):
                        page.goto(base + path)
                        target = out / f"{name}.png"
                        page.screenshot(path=str(target), full_page=True)
                        written.append(target)
                    browser.close()
            finally:
                server.should_exit = True
                thread.join(timeout=10)
        finally:
            store.close()
    return written
