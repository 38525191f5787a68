"""The assistant's web page in a real headless Chromium (Debian's, driven by Playwright): a
typed request, then a spoken one through Chromium's fake microphone, answered with the
transcript, its slots marked, the reply, and the skills' state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import LiveServer, spoken_wav

from polynlu.models.joint import JointModel
from polynlu.serving import ServeSettings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow


def test_page_answers_typed_and_spoken_requests(
    tiny_joint: tuple[JointModel, Path],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("POLYNLU_CACHE", str(tmp_path_factory.getbasetemp() / "page-cache"))
    microphone = tmp_path / "request.wav"
    microphone.write_bytes(spoken_wav("turn off the lights", "en-US", pad_s=4.0))
    settings = ServeSettings(model=str(tiny_joint[1]))
    with LiveServer(settings) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
            ],
        )
        page = browser.new_page()
        page.goto(live.url + "/")
        expect(page.locator("#lights li")).to_have_count(5)  # the state panel, before a turn

        page.fill("#text", "wake me up at seven am")
        with page.expect_response("**/v1/assistant") as typed:
            page.click("#typed button[type=submit]")
        answer = typed.value.json()
        expect(page.locator("body")).to_have_attribute("data-turns", "1")
        assert _shown_text(page) == "wake me up at seven am"
        slots = sorted(answer["interpretation"]["slots"], key=lambda s: s["start"])
        expect(page.locator("#transcript mark")).to_have_count(len(slots))
        marks = page.locator("#transcript mark")
        for index, slot in enumerate(slots):
            expect(marks.nth(index)).to_have_attribute("data-slot", slot["slot"])
        expect(page.locator("#intent")).to_have_text(answer["interpretation"]["intent"])
        expect(page.locator("#reply")).to_have_text(answer["reply_text"])
        assert page.locator("#reply-audio").get_attribute("src").startswith("data:audio/wav")

        page.click("#talk")  # a click starts recording; the next one stops and sends
        expect(page.locator("#talk")).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(3000)
        with page.expect_response("**/v1/assistant", timeout=60_000) as spoken:
            page.click("#talk")
        heard = spoken.value.json()
        assert spoken.value.status == 200, heard
        assert "lights" in heard["transcript"]["text"].lower()
        expect(page.locator("body")).to_have_attribute("data-turns", "2")
        assert _shown_text(page) == heard["interpretation"]["text"]
        browser.close()


def _shown_text(page: object) -> str:
    """The transcript as the page shows it, without the slot labels under the marks."""
    return page.evaluate(  # type: ignore[attr-defined, no-any-return]
        """() => { const copy = document.getElementById("transcript").cloneNode(true);
                   copy.querySelectorAll("sub").forEach((label) => label.remove());
                   return copy.textContent; }"""
    )
